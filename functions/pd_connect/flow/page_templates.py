"""The page templates of one container: the built-in ones, each replaced by the builder's file
of the same name when PAGE_TEMPLATES_DIR has one (a Lambda layer puts it at
/opt/pd_connect/templates).

Everything is read and checked once, at start: a supplied template that uses a placeholder its
page does not have, has a lone `$`, or is not UTF-8 fails the container's init with a message
naming the file, never a user's request. Templates are `string.Template` files (`$name`); the
renderer escapes every value, so a supplied template cannot turn escaping off.
"""

from pathlib import Path
from string import Template
from typing import Mapping

from pd_connect.platform.config import ConfigError
from pd_connect.platform.records import Record

BUILT_IN = Path(__file__).resolve().parent / "templates"
STYLESHEET = "style.css"
# Every template and the placeholders it may use: the contract with builders' templates.
PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "layout.html": frozenset({"title", "style", "body", "logo", "footer", "product"}),
    "landing.html": frozenset({"heading", "product", "permissions"}),
    "welcome.html": frozenset({"name", "avatar", "subdomain", "region", "profile_note", "product", "permissions"}),
    "failure.html": frozenset({"title", "message", "details", "reason", "reference", "try_again", "try_again_label", "product"}),
    "scopes_missing.html": frozenset({"items"}),
    "avatar.html": frozenset({"avatar_url", "name", "initials"}),
    "profile_note.html": frozenset({"product"}),
    "logo.html": frozenset({"logo_url", "product"}),
    "footer.html": frozenset({"links"}),
    "footer_link.html": frozenset({"link_id", "url", "label"}),
    "permission.html": frozenset({"scope", "text"}),
}
# Without $body every page is blank; without $style unstyled (CSP lets no other stylesheet in).
REQUIRED = {"layout.html": frozenset({"body", "style"})}


class PageTemplateError(ConfigError):
    """A supplied page template cannot be used; the message names the file and the setting."""


class PageTemplates(Record):
    templates: Mapping[str, Template]
    stylesheet: str
    supplied: tuple[str, ...]  # the names the builder replaced, for the start-up log


def load_page_templates(directory: str = "") -> PageTemplates:
    """The built-in templates, overlaid by `directory`'s files of the same names."""
    supplied_dir = Path(directory) if directory else None
    supplied = _supplied_names(supplied_dir) if supplied_dir else set()
    templates = {}
    for name, allowed in PLACEHOLDERS.items():
        path = supplied_dir / name if name in supplied else BUILT_IN / name
        templates[name] = _checked(path, name, allowed, REQUIRED.get(name, frozenset()))
    css_path = supplied_dir / STYLESHEET if STYLESHEET in supplied else BUILT_IN / STYLESHEET
    return PageTemplates(templates, _read(css_path), tuple(sorted(supplied)))


def _supplied_names(directory: Path) -> set[str]:
    known = {*PLACEHOLDERS, STYLESHEET}
    try:
        names = {entry.name for entry in directory.iterdir() if entry.is_file()}
    except OSError as error:
        raise PageTemplateError(f"PAGE_TEMPLATES_DIR {str(directory)!r} cannot be read: {error.strerror}") from None
    # A misspelt name would otherwise fall back to the built-in page without a word.
    unknown = sorted(name for name in names if name.endswith((".html", ".css")) and name not in known)
    if unknown:
        raise PageTemplateError(
            f"PAGE_TEMPLATES_DIR has {', '.join(unknown)}, which no page uses; the names are: {', '.join(sorted(known))}"
        )
    return names & known


def _checked(path: Path, name: str, allowed: frozenset[str], required: frozenset[str]) -> Template:
    template = Template(_read(path))
    if not template.is_valid():
        raise PageTemplateError(f"{path}: a $ that starts no placeholder (write $$ for a dollar sign)")
    used = set(template.get_identifiers())
    if used - allowed:
        raise PageTemplateError(
            f"{path}: ${', $'.join(sorted(used - allowed))} is not a placeholder of {name} "
            f"(it has ${', $'.join(sorted(allowed))})"
        )
    if required - used:
        raise PageTemplateError(f"{path}: {name} must contain ${', $'.join(sorted(required - used))}")
    return template


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError:
        raise PageTemplateError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise PageTemplateError(f"{path} cannot be read: {error.strerror}") from None
