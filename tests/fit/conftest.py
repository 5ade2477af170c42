from tests.conftest import browser_available

collect_ignore = [] if browser_available() else ["test_browser.py"]
