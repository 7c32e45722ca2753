"""Real headless Chromium for the web page: serve a folder on 127.0.0.1, start the browser, wait.

Debian's `chromium` and `chromium-driver` (scripts/setup.sh installs them), driven by Selenium;
Selenium never downloads a browser here: both paths are given. Used by tests/export/test_web.py and
benchmarks/web_speed.py.
"""

import contextlib
import functools
import http.server
import threading
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

# Without the networking flags Chromium keeps trying to reach Google's hosts and stalls here.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage", "--window-size=1000,1300")


@contextlib.contextmanager
def serve(folder, isolated=False):
    """Serves `folder` on 127.0.0.1 (a free port); `isolated` adds the COOP/COEP headers that
    make a page cross-origin isolated (SharedArrayBuffer, hence threads)."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def end_headers(self):
            if isolated:
                self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            super().end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def start_chromium(profile_dir, downloads=None):
    """A headless Chromium with a fresh profile, its console log kept at every level."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    if downloads is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                                  "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_script_timeout(60)
    return driver


def open_page(driver, url, timeout=60):
    """Loads the page and waits until it is ready or shows an error; returns the state."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = driver.execute_script("return document.body.dataset.state")
        if state != "loading":
            return state
        time.sleep(0.2)
    raise AssertionError(f"the page did not finish loading: {status(driver)!r}")


def status(driver):
    """The page's status line."""
    return driver.find_element(By.ID, "status").text


def wait_for(driver, script, expected, timeout=30):
    """Polls `script` in the page until it returns `expected`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(script) == expected:
            return
        time.sleep(0.1)
    raise AssertionError(f"{script} never returned {expected!r}; status: {status(driver)!r}")
