"""The estimators' behaviour: centring options, callbacks, class_weight, failures and rollback."""
