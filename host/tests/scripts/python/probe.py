# The Python twin of the http-probe guest's failure paths: one GET to URL
# per iteration; a request without an answer fails the iteration with its text.
from vespid import check, http, vu

URL = vu.env("URL")
TIMEOUT_MS = vu.env("TIMEOUT_MS")
EXPECT_STATUS = vu.env("EXPECT_STATUS")


def default(data):
    response = http.get(URL, timeout_ms=int(TIMEOUT_MS) if TIMEOUT_MS else None)
    if EXPECT_STATUS:
        check(f"status is {EXPECT_STATUS}", response.status == int(EXPECT_STATUS))
