"""Reading and writing YAML/JSON documents, with errors that point at the line and field."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from procure.errors import InputError

Model = TypeVar("Model", bound=BaseModel)


class Spec(BaseModel):
    """A document a user writes: unknown fields are errors, text is trimmed. (The documents of
    vendors, task types and prices are their records' own families, with the same rules.)"""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _DecimalLoader(yaml.SafeLoader):
    """YAML numbers with a fraction become exact Decimals, never binary floats."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    text = loader.construct_scalar(node)
    try:
        return Decimal(str(text).replace("_", ""))
    except InvalidOperation:
        return loader.construct_yaml_float(node)


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """A date that does not exist (2026-02-30) is a YAML error with its line, not a crash."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"{node.value!r} is not a date ({exc}); expected YYYY-MM-DD",
            node.start_mark,
        ) from None


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_DecimalLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # a document people edit: no &anchors
        return True


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    tag = "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int"
    return dumper.represent_scalar(tag, text)


_Dumper.add_representer(Decimal, _represent_decimal)
_Dumper.add_multi_representer(Enum, lambda d, v: d.represent_str(str(v.value)))


def parse_text(text: str, source: str, fmt: str | None = None) -> tuple[Any, yaml.Node | None]:
    """Parse YAML or JSON (by ``fmt`` or, if absent, by content) into Python data.

    Returns the data and the YAML node tree used to find line numbers for later errors.
    """
    fmt = fmt or ("json" if text.lstrip()[:1] in "[{" else "yaml")
    _refuse_aliases_and_depth(text, source)
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        tree = None
    _refuse_duplicate_keys(tree, source)
    if fmt == "json":
        try:
            data = json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_pairs(source))
        except json.JSONDecodeError as exc:
            raise InputError(
                f"malformed JSON: {exc.msg} (column {exc.colno})", source=source, line=exc.lineno
            ) from None
    else:
        try:
            data = yaml.load(text, Loader=_DecimalLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(
                f"malformed YAML: {problem}"
                + (f" (column {mark.column + 1})" if mark is not None else ""),
                source=source,
                line=mark.line + 1 if mark is not None else None,
            ) from None
    _refuse_nul(data, [], tree, source)
    return data, tree


def _refuse_nul(data: Any, path: list[int | str], tree: yaml.Node | None, source: str) -> None:
    """A NUL character (``\\u0000``) in any key or value: no database text can hold it."""
    items: Any = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    if isinstance(data, str) and "\x00" in data:
        raise InputError(
            f"{field_path(path) or 'the document'}: contains a NUL character (U+0000), which no "
            "text can hold here",
            source=source,
            line=line_of(tree, path),
        )
    for key, value in items:
        if isinstance(key, str) and "\x00" in key:
            raise InputError(
                "a key contains a NUL character (U+0000)", source=source, line=line_of(tree, path)
            )
        _refuse_nul(value, [*path, key], tree, source)


MAX_DEPTH = 32  # the deepest a workspace document goes is 6 levels


def _refuse_aliases_and_depth(text: str, source: str) -> None:
    """A document people edit needs no YAML aliases (procure writes none), and an alias bomb of a
    few hundred bytes expands to gigabytes; nesting deeper than any document needs exhausts the
    parsers' recursion. Both are refused from the parser's events, before anything is built."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise InputError(
                    "YAML aliases (*name) are not allowed in a document; write the value out",
                    source=source,
                    line=_line(event),
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError(
                        f"nested deeper than {MAX_DEPTH} levels; a document needs at most 6",
                        source=source,
                        line=_line(event),
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # reported with its line by the parser below


def _line(event: yaml.Event) -> int | None:
    return None if event.start_mark is None else event.start_mark.line + 1


def _refuse_duplicate_keys(tree: yaml.Node | None, source: str) -> None:
    """A key given twice in one mapping is an error naming both lines (YAML and JSON parsers
    would keep the last silently: a unit price of 2.50 then 250 would become 250)."""
    stack = [tree] if tree is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Mark] = {}
            for key, value in node.value:
                name, mark = str(key.value), key.start_mark
                if isinstance(key, yaml.ScalarNode) and name in seen and name != "<<":
                    first = seen[name]
                    where = (
                        f"lines {first.line + 1} and {mark.line + 1}"
                        if first.line != mark.line
                        else f"columns {first.column + 1} and {mark.column + 1}"
                    )
                    raise InputError(
                        f"key {name!r} is given twice ({where}); expected each key once",
                        source=source,
                        line=mark.line + 1,
                    )
                seen[name] = mark
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _unique_pairs(source: str) -> Any:
    """JSON's object hook for what YAML could not compose (so no lines are known)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        repeated = next((key for key in keys if keys.count(key) > 1), None)
        if repeated is not None:
            raise InputError(
                f"key {repeated!r} is given twice; expected each key once", source=source
            )
        return dict(items)

    return pairs


def parse_file(content: bytes, filename: str, what: str) -> tuple[Any, yaml.Node | None]:
    """Decode a file's bytes as UTF-8 and parse them as JSON (``.json``), YAML (``.yaml``,
    ``.yml``) or, by content, either; ``what`` names the expected content in errors."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte {exc.start}); expected a YAML or JSON {what}", source=filename
        ) from None
    suffix = Path(filename).suffix.lower()
    fmt = "json" if suffix == ".json" else "yaml" if suffix in (".yaml", ".yml") else None
    return parse_text(text, filename, fmt)


def line_of(tree: yaml.Node | None, path: Sequence[int | str]) -> int | None:
    """1-based line of the node at ``path`` (or of its nearest existing ancestor)."""
    node, line = tree, None
    for part in path:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
    return node.start_mark.line + 1 if node is not None else line


def field_path(loc: Sequence[int | str]) -> str:
    """``("contracts", 0, "price_lines", 1, "unit_price")`` -> ``contracts[0].price_lines[1].unit_price``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe(error: dict[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in ("missing", "value_error", "assertion_error"):
        return message
    value = error["input"]
    return f"{message}, got {value if isinstance(value, Decimal) else repr(value)}"


def validate(model: type[Model], data: Any, source: str, tree: yaml.Node | None = None) -> Model:
    """Validate ``data`` as ``model``; on failure raise one ``InputError`` naming line and field.

    Every problem is listed, one per line, the first one leading.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            (
                tuple(p for p in error["loc"] if not str(p).startswith("function-")),
                describe(dict(error)),
            )
            for error in exc.errors()
        ]
        raise problems_error(problems, source, tree) from None


Problem = tuple[tuple[int | str, ...], str]


def problems_error(
    problems: Sequence[Problem], source: str, tree: yaml.Node | None = None
) -> InputError:
    """One ``InputError`` listing every problem as ``line N, field.path: what was expected``."""
    lines = []
    for loc, message in problems:
        line = line_of(tree, loc) if loc else None
        where = ", ".join(p for p in (line and f"line {line}", field_path(loc)) if p)
        lines.append(f"{where}: {message}" if where else message)
    if len(lines) == 1:
        loc, message = problems[0]
        line = line_of(tree, loc) if loc else None
        return InputError(message, source=source, line=line, field=field_path(loc) or None)
    return InputError("\n  " + "\n  ".join(lines), source=source)


def dump(data: Any, fmt: str) -> str:
    """Serialise plain data (with Decimals, dates and enums) as YAML or JSON text."""
    if fmt == "json":
        return json.dumps(data, indent=2, default=_json_default, ensure_ascii=False) + "\n"
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")
