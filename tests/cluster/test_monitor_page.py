"""The monitor page, in headless Chromium, shows every process of a three-process cluster.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make system-deps``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from ._support import Cluster, start_cluster

pytestmark = pytest.mark.browser

PAGE_TIMEOUT = 30.0  # seconds the page may take to show what the test waits for


@pytest.fixture
def cluster(redis_url: str, logs: Path) -> Iterator[Cluster]:
    yield from start_cluster(redis_url, "monitor-page", logs)


@pytest.fixture
def browser(start_chromium: Callable[[], WebDriver]) -> Iterator[WebDriver]:
    driver = start_chromium()
    yield driver
    driver.quit()


def cluster_rows(driver: WebDriver) -> list[list[str]]:
    """The cells of the cluster table, read at once (the page redraws it twice a second)."""
    rows: list[list[str]] = driver.execute_script(
        "return Array.from(document.querySelectorAll('#cluster tr'))"
        ".map(row => Array.from(row.cells).map(cell => cell.textContent))"
    )
    return rows


def test_the_page_lists_each_process_with_its_clients_and_their_sum(
    cluster: Cluster, browser: WebDriver
) -> None:
    for index, server in enumerate(cluster.servers):
        for _ in range(index + 1):  # 1, 2 and 3 clients
            cluster.connect(server)
    browser.get(cluster.servers[0].url + "/sockevents/")

    seen: list[list[list[str]]] = [[]]

    def shown(driver: WebDriver) -> list[list[str]] | bool:
        rows = seen[0] = cluster_rows(driver)
        return rows if len(rows) == 4 and rows[-1][1] == "6" else False

    try:
        rows = WebDriverWait(browser, PAGE_TIMEOUT, poll_frequency=0.05).until(shown)
    except TimeoutException:
        pytest.fail(f"the cluster table never showed 3 processes and 6 clients; last: {seen[0]}")
    assert rows[0][0].endswith("(this one)")
    assert f":{cluster.servers[0].pid}:" in rows[0][0]
    assert sorted(row[1] for row in rows[:3]) == ["1", "2", "3"]
    assert rows[3][0] == "all 3 processes"
