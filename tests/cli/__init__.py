"""The centered-nn command line: the compare run, its outputs, errors and CSV reading."""
