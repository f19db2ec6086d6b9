# One GET of BASE_URL + '/' per iteration, checking for a 200
# (examples/rust/hello in Python).
from vespid import check, http, vu

url = None


def init(data):
    global url
    url = (vu.env("BASE_URL") or "http://127.0.0.1:7878").rstrip("/") + "/"


def default(data):
    response = http.get(url)
    check("status is 200", response.status == 200)
