# Each kind of grant from Python (tests/it/permissions.rs): the granted ones
# work; a host, a data set and a datasource not granted raise their typed
# denial. BASE_URL is granted, OTHER_URL (another server) is not.
from vespid import HttpError, check, data, http, vu
from vespid import sql


def refused(call):
    try:
        call()
    except Exception as error:
        return error
    return None


def default(data_):
    check("granted host", http.get(vu.env("BASE_URL") + "/").status == 200)
    error = refused(lambda: http.get(vu.env("OTHER_URL") + "/"))
    check("host not granted", isinstance(error, HttpError) and error.kind == "denied"
          and error.permission == "allowed-hosts" and "denied: HTTP to" in str(error))
    check("granted data set", data.len("users") == 3)
    error = refused(lambda: data.len("secrets"))
    check("data set not granted", isinstance(error, PermissionError) and error.permission == "data"
          and "data set \"secrets\"" in str(error))
    check("granted datasource", sql.query("main", "select 1 as one")[0]["one"] == 1)
    error = refused(lambda: sql.query("private", "select 1"))
    check("datasource not granted", isinstance(error, sql.SqlError) and error.kind == "denied"
          and str(error).startswith("denied: datasource \"private\""))
