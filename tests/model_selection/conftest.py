import pytest
from sklearn.datasets import load_iris


@pytest.fixture(scope="package")
def iris():
    return load_iris(return_X_y=True)
