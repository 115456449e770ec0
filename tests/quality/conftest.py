"""Quality tests share ``prepared_data`` and ``END`` from tests/conftest.py."""

from tests.conftest import END  # noqa: F401
