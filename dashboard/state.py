"""Widgets whose values live in the page's URL, so a copied link shows the same view.

Unusable link values (wrong type, out of range, unknown choice) fall back to the default
(or the nearest allowed value) and are listed in a note at the top of the page.

One owner per value: the session's value under the widget's key. It is read from the link
once (:func:`_init`), the widget is drawn *from* it and the link is written back from it
(:func:`publish`). Each widget is also declared with that value as its own default
(``value=``/``index=``/``default=``): Streamlit sends a value set through session state to
the browser only once, and when that message is lost (a page clicked before the first run
has reached the browser) the browser falls back to the widget's declared default and sends
it back. Without ``value=`` that default is the widget's own (a slider's minimum: Overlay
opacity 0.00, Isoline levels 2), which then ran into the link (``alpha=0.0&levels=2``).
For the same reason every widget is declared ``persist_state="session"``: on a page switch
Streamlit drops the state of widgets the browser did not report, and a browser that has not
drawn the sidebar yet reports none of its widgets, so a value from the link was lost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import streamlit as st

T = TypeVar("T")


def _url_warn(message: str) -> None:
    st.session_state["_url_warnings"] = [*st.session_state.get("_url_warnings", []), message]
    _render_url_warnings()


class _Adjusted(ValueError):
    """A link value that was unusable as given but has a nearest usable value."""

    def __init__(self, value: Any, reason: str):
        super().__init__(reason)
        self.value = value


def _init(key: str, default: T, parse: Callable[[str], T]) -> None:
    """Give widget ``key`` its first value: from the URL when valid, else ``default``."""
    if key in st.session_state:
        return
    raw = st.query_params.get(key)
    value = default
    if raw is not None:
        try:
            value = parse(raw)
        except _Adjusted as adj:
            value = adj.value
            _url_warn(f"`{key}={raw}` from the link {adj}; using {value!r}")
        except (ValueError, TypeError) as exc:
            _url_warn(f"ignored `{key}={raw}` from the link ({exc}); using {default!r}")
    st.session_state[key] = value


def _owned(key: str) -> Any:
    """The session's value of ``key``: declared as the widget's default (see the module)."""
    return st.session_state[key]


def publish(key: str, value: Any) -> None:
    text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    if st.query_params.get(key) != text:
        st.query_params[key] = text


def _choice(options: Sequence[T]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        for opt in options:
            if str(opt) == raw:
                return opt
        shown = ", ".join(map(str, options[:8])) + (", …" if len(options) > 8 else "")
        raise ValueError(f"not one of the choices ({shown})")

    return parse


def _number(kind: type, low: float, high: float) -> Callable[[str], Any]:
    def parse(raw: str):
        try:
            value = kind(raw)
        except (ValueError, OverflowError):
            raise ValueError("not a whole number" if kind is int else "not a number") from None
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        if not low <= value <= high:
            raise _Adjusted(min(max(value, kind(low)), kind(high)),
                            f"must be between {low} and {high}")
        return value

    return parse


def _choice_widget(widget: Callable[..., T], label: str, options: Sequence[T], default: T,
                   key: str, **kw) -> T:
    """A one-of-many widget (``st.selectbox``, ``st.radio``) whose value lives in the URL."""
    default = default if default in options else options[0]
    _init(key, default, _choice(options))
    if st.session_state[key] not in options:
        st.session_state[key] = default
    value = widget(label, options, index=list(options).index(st.session_state[key]),
                   key=key, persist_state="session", **kw)
    publish(key, value)
    return value


def selectbox(label: str, options: Sequence[T], default: T, key: str, **kw) -> T:
    """A selectbox whose value lives in the URL under ``key``."""
    return _choice_widget(st.selectbox, label, options, default, key, **kw)


def radio(label: str, options: Sequence[T], default: T, key: str, **kw) -> T:
    """Radio buttons whose value lives in the URL under ``key``."""
    return _choice_widget(st.radio, label, options, default, key, **kw)


def multiselect(label: str, options: Sequence[T], default: list[T], key: str, **kw) -> list[T]:
    most = kw.get("max_selections")

    def parse(raw: str) -> list[T]:
        wanted = list(dict.fromkeys(v for v in raw.split(",") if v))  # each value once
        known = [opt for v in wanted for opt in options if str(opt) == v]
        if len(known) < len(wanted):
            raise _Adjusted(known[:most] if most else known,
                            "has values that are not among the choices")
        if most is not None and len(known) > most:
            raise _Adjusted(known[:most], f"has {len(known)} values; at most {most} are allowed")
        return known

    _init(key, default, parse)
    kept = [v for v in st.session_state[key] if v in options]  # the options can change
    if kept != list(st.session_state[key]):
        st.session_state[key] = kept
    value = st.multiselect(label, options, default=_owned(key), key=key,
                           persist_state="session", **kw)
    publish(key, value)
    return value


def slider(label: str, low: float, high: float, default: float, key: str, **kw) -> Any:
    kind = float if isinstance(default, float) else int
    _init(key, default, _number(kind, low, high))
    value = st.slider(label, low, high, value=_owned(key), key=key, persist_state="session", **kw)
    publish(key, value)
    return value


def number(label: str, low: int, high: int, default: int, key: str, **kw) -> int:
    _init(key, default, _number(int, low, high))
    value = st.number_input(label, low, high, value=_owned(key), key=key,
                            persist_state="session", step=1, **kw)
    publish(key, value)
    return int(value)


def toggle(label: str, default: bool, key: str, **kw) -> bool:
    _init(key, default, _choice([True, False]))
    value = st.toggle(label, value=_owned(key), key=key, persist_state="session", **kw)
    publish(key, value)
    return value


def show_url_warnings() -> None:
    """Reserve the place where unusable link settings are listed (filled as they are found)."""
    st.session_state["_url_slot"] = st.empty()
    _render_url_warnings()


def _render_url_warnings() -> None:
    slot = st.session_state.get("_url_slot")
    messages = st.session_state.get("_url_warnings")
    if slot is None or not messages:
        return
    with slot.container():
        st.warning("Some settings in this link could not be used:\n\n"
                   + "\n".join(f"- {m}" for m in messages), icon="🔗")
        if st.button("OK, hide this", key=f"url-warnings-ok-{len(messages)}"):
            st.session_state.pop("_url_warnings", None)
            st.rerun()
