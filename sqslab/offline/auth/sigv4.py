"""AWS Signature Version 4: a request's signature computed again from the request itself
and compared in constant time (:class:`Verifier`), and the same signing for the server's
own requests (:func:`sign`)."""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, urlsplit

from sqslab.offline.auth.keystore import KeyStore, Principal

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_S = 15 * 60  # AWS: a request must arrive within 15 minutes of its time stamp
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOADS = ("UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
STREAMING_PREFIX = "STREAMING-"
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_AUTH_FIELD = re.compile(r"(\w+)=([^,\s]*)")


class AuthError(Exception):
    """A request that may not pass: ``kind`` decides the code each protocol gives."""

    def __init__(self, kind: str, message: str = "", **extra):
        super().__init__(message or kind)
        self.kind = kind
        self.message = message
        self.extra = extra


def amz_date(ts: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ts))


def _parse_amz_date(value: str) -> float:
    return calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ"))


def canonical_uri(raw_path: str, service: str) -> str:
    """The path as the client sent it, encoded once more (every service but S3, whose
    path is used as sent), with dot segments and repeated slashes removed."""
    if service == "s3":
        return raw_path or "/"
    return quote(_remove_dot_segments(raw_path or "/"), safe="/~")


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    result = "/" + "/".join(out)
    if path.endswith("/") and result != "/":
        result += "/"
    return result


def canonical_query(raw_query: str, drop: tuple[str, ...] = ()) -> str:
    pairs = []
    for part in raw_query.split("&") if raw_query else ():
        if not part:
            continue
        key, _, value = part.partition("=")
        key, value = quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")
        if key not in drop:
            pairs.append((key, value))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _trim(value: str) -> str:
    return " ".join(value.split())


def canonical_request(method: str, uri: str, query: str, headers: dict[str, str], signed: list[str],
                      payload_hash: str) -> str:
    lines = "".join(f"{name}:{_trim(headers.get(name, ''))}\n" for name in signed)
    return "\n".join([method.upper(), uri, query, lines, ";".join(signed), payload_hash])


def string_to_sign(timestamp: str, scope: str, creq: str) -> str:
    return "\n".join([ALGORITHM, timestamp, scope, hashlib.sha256(creq.encode("utf-8")).hexdigest()])


_KEYS: dict[tuple[str, str, str, str], bytes] = {}
_KEYS_MAX = 256


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"), cached."""
    cache_key = (secret, date, region, service)
    key = _KEYS.get(cache_key)
    if key is None:
        key = ("AWS4" + secret).encode("utf-8")
        for part in (date, region, service, "aws4_request"):
            key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        _KEYS[cache_key] = key
    return key


def sign(method: str, url: str, *, access_key: str, secret: str, region: str, service: str,
         body: bytes = b"", headers: dict[str, str] | None = None, token: str | None = None,
         now: float | None = None) -> dict[str, str]:
    """Headers that sign a request to ``url`` (for sqslab's own status probe and the tests)."""
    parts = urlsplit(url)
    stamp = amz_date(time.time() if now is None else now)
    payload = hashlib.sha256(body).hexdigest()
    out = {k.lower(): v for k, v in (headers or {}).items()}
    out.update({"host": parts.netloc, "x-amz-date": stamp, "x-amz-content-sha256": payload})
    if token:
        out["x-amz-security-token"] = token
    signed = sorted(out)
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    creq = canonical_request(method, canonical_uri(parts.path, service), canonical_query(parts.query), out,
                             signed, payload)
    signature = hmac.new(signing_key(secret, stamp[:8], region, service),
                         string_to_sign(stamp, scope, creq).encode("utf-8"), hashlib.sha256).hexdigest()
    out["authorization"] = (f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={';'.join(signed)}, "
                            f"Signature={signature}")
    return out


@dataclass
class Request:
    """What the check needs of a WSGI request."""

    method: str
    raw_path: str
    raw_query: str
    environ: dict
    authorization: str = ""
    scope: dict = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        if name == "content-type":
            return self.environ.get("CONTENT_TYPE")
        if name == "content-length":
            return self.environ.get("CONTENT_LENGTH")
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"))


def request_of(environ: dict) -> Request:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if "://" in raw.split("?", 1)[0]:
            parts = urlsplit(raw)
            path, query = parts.path, parts.query
        else:
            path, _, query = raw.partition("?")
    else:
        path, query = quote(environ.get("PATH_INFO", "/")), environ.get("QUERY_STRING", "")
    return Request(environ.get("REQUEST_METHOD", "GET"), path, query, environ,
                   environ.get("HTTP_AUTHORIZATION", ""))


def parse_authorization(value: str) -> dict:
    """``AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex``."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthError("incomplete", f"Unsupported authorization type: {algorithm or 'none'}; "
                        "the offline server accepts AWS Signature Version 4 (AWS4-HMAC-SHA256) only")
    pairs = _AUTH_FIELD.findall(rest)
    fields = dict(pairs)
    if len(fields) != len(pairs):
        twice = next(k for i, (k, _) in enumerate(pairs) if k in dict(pairs[:i]))
        raise AuthError("incomplete", f"Authorization header names '{twice}' more than once. "
                        f"Authorization={value[:120]}")
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise AuthError("incomplete", f"Authorization header requires '{missing[0]}' parameter. "
                        f"Authorization={value[:120]}")
    cred = fields["Credential"].split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        raise AuthError("incomplete", f"Credential should be scoped to a valid scope: "
                        f"<key>/<date>/<region>/<service>/aws4_request, not {fields['Credential']!r}")
    return {"access_key": cred[0], "date": cred[1], "region": cred[2], "service": cred[3],
            "signed": fields["SignedHeaders"].split(";"), "signature": fields["Signature"]}


class Verifier:
    """Checks requests against a :class:`KeyStore`."""

    def __init__(self, store: KeyStore, clock=time.time):
        self.store = store
        self.clock = clock

    def check(self, req: Request, read_body) -> Principal:
        """The principal the request is signed by; raises :class:`AuthError` otherwise.
        ``read_body()`` returns the body (read only once the signature is to be computed)."""
        if not req.authorization:
            if "X-Amz-Signature=" in req.raw_query or "Signature=" in req.raw_query:
                raise AuthError("missing", "Query-string authentication (a presigned URL) is not accepted "
                                "by the offline server: sign the request's Authorization header")
            raise AuthError("missing")
        scope = req.scope = parse_authorization(req.authorization)
        principal = self.store.get(scope["access_key"])
        if principal is None:
            raise AuthError("unknown_key", access_key=scope["access_key"])
        token = req.header("x-amz-security-token")
        if (principal.token or token) and not hmac.compare_digest((token or "").encode(),
                                                                  (principal.token or "").encode()):
            raise AuthError("bad_token", access_key=scope["access_key"])
        timestamp = req.header("x-amz-date")
        if not timestamp:
            date_header = req.header("date")
            if not date_header:
                raise AuthError("incomplete", "Authorization header requires existence of either a "
                                "'X-Amz-Date' or a 'Date' header.")
            try:
                timestamp = amz_date(parsedate_to_datetime(date_header).timestamp())
            except (TypeError, ValueError):
                raise AuthError("incomplete", f"Date must be in ISO-8601 'basic format': {date_header!r}") from None
        try:
            when = _parse_amz_date(timestamp)
        except ValueError:
            raise AuthError("incomplete", f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'. "
                            "See http://en.wikipedia.org/wiki/ISO_8601") from None
        if scope["date"] != timestamp[:8]:
            raise AuthError("signature", f"Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                            f"version of date from HTTP: '{scope['date']}' != '{timestamp[:8]}', from "
                            f"'{timestamp}'.")
        now = self.clock()
        if when < now - MAX_SKEW_S:
            raise AuthError("skew", f"Signature expired: {timestamp} is now earlier than "
                            f"{amz_date(now - MAX_SKEW_S)} ({amz_date(now)} - 15 min.)",
                            request_time=timestamp, server_time=amz_date(now))
        if when > now + MAX_SKEW_S:
            raise AuthError("skew", f"Signature not yet current: {timestamp} is still later than "
                            f"{amz_date(now + MAX_SKEW_S)} ({amz_date(now)} + 15 min.)",
                            request_time=timestamp, server_time=amz_date(now))
        body = read_body()
        declared = req.header("x-amz-content-sha256")
        if declared and _HEX64.match(declared):
            if hashlib.sha256(body).hexdigest() != declared:
                if scope["service"] != "s3":  # elsewhere the payload's own digest is signed: it cannot match
                    raise AuthError("signature", access_key=scope["access_key"])
                raise AuthError("content_sha", "The provided 'x-amz-content-sha256' header does not match what "
                                "was computed.")
            payload_hash = declared
        elif declared and (declared in UNSIGNED_PAYLOADS or declared.startswith(STREAMING_PREFIX)):
            if scope["service"] != "s3":  # an unsigned or chunked payload is S3's alone
                raise AuthError("signature", access_key=scope["access_key"])
            payload_hash = declared
        elif scope["service"] == "s3":
            raise AuthError("incomplete", "Missing required header for this request: x-amz-content-sha256")
        else:
            payload_hash = hashlib.sha256(body).hexdigest()
        headers = {name: req.header(name) or "" for name in scope["signed"]}
        if "host" not in headers:
            raise AuthError("signature", "'Host' must be a signed header.")
        creq = canonical_request(req.method, canonical_uri(req.raw_path, scope["service"]),
                                 canonical_query(req.raw_query), headers, scope["signed"], payload_hash)
        credential_scope = f"{scope['date']}/{scope['region']}/{scope['service']}/aws4_request"
        sts = string_to_sign(timestamp, credential_scope, creq)
        key = signing_key(principal.secret_key, scope["date"], scope["region"], scope["service"])
        expected = hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), scope["signature"].encode()):
            raise AuthError("signature", access_key=scope["access_key"], string_to_sign=sts,
                            canonical_request=creq, signature=scope["signature"])
        return principal
