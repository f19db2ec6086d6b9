# A user journey that carries data from one response to the next request:
# log in (the server sets a session cookie and returns a token), read the
# profile with the cookie, then list orders with the token
# (examples/rust/flow in Python).
from vespid import check, http, vu

base = None
user = None


def init(data):
    global base, user
    base = (vu.env("BASE_URL") or "http://127.0.0.1:7878").rstrip("/")
    user = f"vu-{vu.id()}"


def default(data):
    login = http.post(f"{base}/login", json={"user": user})
    if not check("logged in", login.status == 200):
        raise RuntimeError(f"login answered {login.status}")
    token = login.json()["token"]

    # The session cookie from /login goes back automatically: the jar is this VU's own.
    me = http.get(f"{base}/me")
    try:
        profile = me.json()
    except ValueError:
        profile = None
    check("session is mine", isinstance(profile, dict) and profile.get("user") == user)

    orders = http.get(f"{base}/orders?page=1", headers={"authorization": f"Bearer {token}"}, name="orders")
    check("orders listed", orders.status == 200)
