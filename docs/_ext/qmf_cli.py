"""The ``qmf`` command tree read from argparse (``qmf_sim.cli.build_parser()``), for the docs and tests.

:func:`commands` flattens the parser into ``{"ste simulate": parser, ...}``; :func:`flags` gives a
command's option strings; :func:`check_command` tells what is wrong with one ``qmf ...`` line as a
reader would type it (an unknown sub-command or flag); :func:`rst` renders the reference page.
"""
from __future__ import annotations

import argparse
import re
import shlex


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def commands(parser=None) -> dict:
    """``{"": root parser, "reproduce": ..., "ste simulate": ...}`` in definition order."""
    if parser is None:
        from qmf_sim.cli import build_parser

        parser = build_parser()
    out = {}

    def walk(p, prefix):
        out[prefix] = p
        sub = _subparsers(p)
        if sub is not None:
            for name, child in sub.choices.items():
                walk(child, f"{prefix} {name}".strip())

    walk(parser, "")
    return out


def flags(parser) -> set:
    """Every option string of a parser (``--out``, ``-h``, ...)."""
    return {s for a in parser._actions for s in a.option_strings}


def _placeholder(word: str) -> bool:
    """A value the reader substitutes (``N``, ``DIR``, ``NAME``, ``2-256``...) rather than a literal choice."""
    return not word or any(c.isupper() for c in word) or not word[0].isalpha()


def check_command(line: str, tree: dict) -> list[str]:
    """Problems of one command line ``qmf ...`` against the tree (empty when it parses as documented).

    The words after ``qmf`` up to the first flag or value must name a command; every word starting
    with ``-`` must be a flag of that command; a literal value after a flag with choices (or each
    alternative of ``a|b|c``) must be one of its choices.  Placeholders a reader substitutes (``DIR``,
    ``N``, ``PARTS``), optional groups ``[...]`` and ellipses are allowed."""
    text = line.replace("\\|", "|").replace("…", " ").replace("...", " ")
    text = re.sub(r"[\[\]]", " ", text)  # optional groups: check their flags too
    try:
        words = shlex.split(text, comments=True)
    except ValueError:
        words = text.split()
    if not words or words[0] != "qmf":
        return [f"not a qmf command: {line!r}"]
    words = words[1:]
    cmd = ""
    while words and not words[0].startswith("-") and f"{cmd} {words[0]}".strip() in tree:
        cmd = f"{cmd} {words.pop(0)}".strip()
    parser = tree[cmd]
    if _subparsers(parser) is not None and words and not words[0].startswith("-"):
        if words[0].isupper() or words[0].startswith("<"):  # `qmf COMMAND --help`: any command
            return []
        return [f"{line!r}: {words[0]!r} is not a sub-command of {('qmf ' + cmd).strip()!r}"]
    actions = {s: a for a in parser._actions for s in a.option_strings}
    problems = []
    for i, w in enumerate(words):
        if not w.startswith("-") or w in ("-", "--"):
            continue
        flag, _, inline = w.partition("=")
        if flag not in actions:
            problems.append(f"{line!r}: 'qmf {cmd}' has no flag {flag}")
            continue
        action = actions[flag]
        if action.choices is None or action.nargs == 0:
            continue
        value = inline or (words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("-") else "")
        allowed = {str(c) for c in action.choices}
        for alt in value.split("|"):
            if not _placeholder(alt) and alt not in allowed:
                problems.append(f"{line!r}: {flag} has no choice {alt!r} (choices: {', '.join(sorted(allowed))})")
    return problems


def commands_in_markdown(text: str) -> list[str]:
    """Every ``qmf ...`` command shown in a Markdown text: inline code spans and shell code-block lines
    (each ``&&``/``;``/``|`` segment that starts with ``qmf`` or ``.venv/bin/qmf``)."""
    found = []
    fence = re.compile(r"^```([^\n]*)\n(.*?)^```", re.S | re.M)
    for m in fence.finditer(text):
        if m.group(1).strip().lower() not in ("bash", "sh", "shell", "console", ""):
            continue
        for ln in m.group(2).splitlines():
            ln = ln.split("  #", 1)[0].split(" # ", 1)[0]
            for seg in re.split(r"&&|;|\s\|\s", ln):
                seg = seg.strip().removeprefix("$ ").strip()
                seg = re.sub(r"^(\S*/)?bin/qmf\b", "qmf", seg)
                if re.match(r"qmf(\s|$)", seg):
                    found.append(seg)
    prose = fence.sub("", text)
    for m in re.finditer(r"`(qmf(?:\s[^`]*)?)`", prose):
        found += [seg.strip() for seg in re.split(r"&&|;", m.group(1)) if re.match(r"\s*qmf(\s|$)", seg)]
    return found


def _expand(parser, action) -> str:
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    return " ".join(parser._get_formatter()._expand_help(action).split())


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace("|", "\\|")


def rst(parser=None) -> str:
    """The command-line reference as reStructuredText (one section per command)."""
    tree = commands(parser)
    out = []
    for name, p in tree.items():
        title = f"qmf {name}".strip()
        out += [title, "-" * len(title), ""]
        if p.description:
            out += [_esc(" ".join(p.description.split())), ""]
        usage = " ".join(p.format_usage().replace("usage:", "").split())
        out += ["::", "", f"   {usage}", ""]
        sub = _subparsers(p)
        if sub is not None:
            out += ["Sub-commands:", ""]
            helps = {a.dest: _expand(p, a) for a in sub._choices_actions}
            for child in sub.choices:
                anchor = f"qmf {name} {child}".strip()
                out.append(f"* `{anchor}`_ — {_esc(helps.get(child, ''))}")
            out.append("")
        rows = [a for a in p._actions if a.help != argparse.SUPPRESS and not isinstance(a, argparse._SubParsersAction)]
        if rows:
            out += [".. list-table::", "   :header-rows: 1", "   :widths: 30 70", "",
                    "   * - argument", "     - meaning"]
            for a in rows:
                if a.option_strings:
                    label = ", ".join(a.option_strings)
                    if a.nargs != 0:
                        choices = "{" + ",".join(map(str, a.choices)) + "}" if a.choices else None
                        meta = a.metavar or choices or a.dest.upper()
                        label += f" {meta if isinstance(meta, str) else ' '.join(meta)}"
                else:
                    label = a.metavar if isinstance(a.metavar, str) else a.dest
                out += [f"   * - ``{label}``", f"     - {_esc(_expand(p, a)) or '—'}"]
            out.append("")
    return "\n".join(out) + "\n"
