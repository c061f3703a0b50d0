"""Small value types shared by the config models, each with a message that says what is allowed."""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SLUG = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_IMAGE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_QUANTITY = re.compile(r"^(?P<num>[0-9]+(?:\.[0-9]+)?)(?P<unit>m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_UNITS = {
    None: 1,
    "m": Decimal("0.001"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def _err(kind: str, message: str) -> PydanticCustomError:
    # The message is ours and never contains the input: config values may be secrets.
    return PydanticCustomError(kind, message)


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise _err("slug", "must be lowercase letters, digits and '-', starting with a letter, not ending with '-'")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise _err("email", f"'{value}' is not an email address (name@domain)")
    return value.lower()


def _hostname(value: str) -> str:
    if not _HOSTNAME.match(value):
        raise _err("hostname", f"'{value}' is not a DNS hostname (lowercase labels separated by dots)")
    return value


def _region(value: str) -> str:
    if not _REGION.match(value):
        raise _err("region", f"'{value}' is not an AWS region (for example eu-west-1)")
    return value


def _url(value: str) -> str:
    if not _URL.match(value):
        raise _err("url", "must be an http:// or https:// URL")
    return value


def _endpoint(value: str) -> str:
    if value != "sandbox" and not _URL.match(value):
        raise _err("endpoint_url", "must be 'sandbox' (the embedded sandbox) or an http:// or https:// URL")
    return value


def _https_url(value: str) -> str:
    if not value.startswith("https://") or not _URL.match(value):
        raise _err("https_url", "must be an https:// URL")
    return value


def _cidr(value: Any) -> str:
    if not isinstance(value, str):
        raise _err("cidr", "must be an IPv4 CIDR block as text, for example 10.0.0.0/16")
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise _err("cidr", f"'{value}' is not an IPv4 CIDR block ({exc})") from None
    return str(network)


def _quantity(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _err("quantity", "must be a Kubernetes quantity such as 500m, 4, 16Gi")
    text = str(value)
    if not _QUANTITY.match(text):
        raise _err("quantity", f"'{text}' is not a Kubernetes quantity (such as 500m, 4, 16Gi)")
    return text


def quantity_value(text: str) -> Decimal:
    """The numeric value of a validated Kubernetes quantity (bytes or cores)."""
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(text)
    try:
        return Decimal(match["num"]) * _UNITS[match["unit"]]
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise ValueError(text) from exc


def _image(value: str) -> str:
    match = _IMAGE.match(value)
    if not match:
        raise _err("image", f"'{value}' is not a container image reference (registry/name:tag or @sha256:...)")
    if not match["digest"] and (not match["tag"] or match["tag"] == "latest"):
        raise _err("image_unpinned", f"'{value}' is not pinned (give a version tag other than 'latest', or a digest)")
    return value


def _literal_secret(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        raise _err(
            "literal_secret",
            "secret values may not be written in config; give a reference instead "
            "({aws_secretsmanager: NAME} or {env: VARIABLE})",
        )
    return value


Slug = Annotated[str, Field(min_length=2, max_length=63), AfterValidator(_slug)]
Email = Annotated[str, AfterValidator(_email)]
Hostname = Annotated[str, AfterValidator(_hostname)]
Region = Annotated[str, AfterValidator(_region)]
Url = Annotated[str, AfterValidator(_url)]
EndpointUrl = Annotated[str, AfterValidator(_endpoint)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
Cidr = Annotated[str, BeforeValidator(_cidr)]
Quantity = Annotated[str, BeforeValidator(_quantity)]
Image = Annotated[str, AfterValidator(_image)]


def _account_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise _err(
            "account_id",
            "write the account ID in quotes, for example '012345678901' (a YAML number loses leading zeros)",
        )
    if not isinstance(value, str) or not re.fullmatch(r"\d{12}", value):
        raise _err("account_id", "must be a 12-digit AWS account ID in quotes")
    return value


AccountId = Annotated[str, BeforeValidator(_account_id)]
LITERAL_SECRET_CHECK = BeforeValidator(_literal_secret)
