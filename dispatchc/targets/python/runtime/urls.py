"""Building a redirect's Location (SPEC §1)."""

from urllib.parse import quote

#: What a query string keeps as it is: everything a query may hold.
_DC_QUERY_SAFE = "-._~!$&'()*+,;=:@/?%"


def _dc_quote(text, extra):
    """Percent-encode captured text (PATH_INFO bytes, latin-1) for a URL."""
    return quote(text, safe="-._~!$'()*,:@" + extra, encoding="latin-1", errors="replace")


def _dc_with_query(location, query):
    """``location`` with the request's query appended: after ``&`` when it
    has a ``?`` already, before its fragment when it has one."""
    base, hash_mark, fragment = location.partition("#")
    query = quote(query, safe=_DC_QUERY_SAFE, encoding="latin-1", errors="replace")
    return base + ("&" if "?" in base else "?") + query + hash_mark + fragment


def _dc_quote_path(path_info):
    """``{path}``: PATH_INFO, which is empty or starts with "/" (any other
    value gets a "/" in front, so that it ends a host written before it),
    percent-encoded."""
    if path_info and path_info[0] != "/":
        path_info = "/" + path_info
    return _dc_quote(path_info, "/")


def _dc_relative(location):
    """A root-relative Location that cannot name another host: a leading
    run of "/" and "\\" becomes one "/" (``//evil.example`` is a host)."""
    if location.startswith(("//", "/\\")):
        return "/" + location.lstrip("/\\")
    return location
