"""Pygments lexer for the kvmsim language (scripts *.kvm, notebook cells of the kvmsim kernel).

nbconvert highlights a notebook's code with the lexer named by the notebook's
language_info.pygments_lexer ("kvmsim"); Pygments finds this class through the
`pygments.lexers` entry point of the kvmsim_pygments dist-info that `kvmsim kernel install`
writes beside this file (Pygments' plugin interface, pygments/plugin.py).

The word lists follow grammar/Kvmsim.g4 (its keyword tokens and literal operators) and
org.kvmsim.lang.Schema (units, block kinds, value words) and org.kvmsim.query (show targets);
HighlightingTest in kvmsim's test suite fails when they drift apart. kernel.js carries the
same lists for the classic Notebook's CodeMirror mode.
"""

import re

from pygments.lexer import RegexLexer, bygroups, default, include, words
from pygments.token import (Comment, Error, Keyword, Name, Number, Operator, Punctuation, String,
                            Whitespace)

__all__ = ["KvmsimLexer"]

# The grammar's keyword tokens that open a declaration (Keyword.Declaration; the name after
# them is the name declared) ...
DECLARATIONS = ("ksm", "policy", "host", "image", "vm", "workload", "pagetable", "contents")
# ... and every other keyword token of the grammar, and `within` (`run until ... within D`),
# which the checker reads as a word.
KEYWORDS = ("on", "like", "in", "run", "until", "write", "set", "start", "stop", "reset", "sweep",
            "show", "plot", "export", "print", "to", "pages", "import", "libvirt", "as", "map", "size",
            "page", "within")
# Blocks inside a host (Schema.HOST_BLOCKS): `hugepages NAME { ... }`, `cpu_overrides { ... }`.
BLOCKS = ("hugepages", "cpu_overrides")
# Units after a number (Schema.SIZE_UNITS, Schema.DURATION_UNITS); `%` too.
UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "ns", "us", "ms", "s", "min", "h")
# Words a value is made of: on/off, every CHOICE of the schema (scan-time written scan_time),
# CPU presets, backings, patterns, contents (`changing every D`).
CONSTANTS = ("on", "off", "always", "madvise", "never", "none", "scan_time", "skylake", "zen2", "zen",
             "ept", "npt", "shadow", "native", "pc", "q35", "lackey", "champsim", "drmemtrace", "line", "bar",
             "scatter", "anonymous", "thp", "hugepages", "uniform", "sequential", "strided", "zipf",
             "hotcold", "same", "zero", "unique", "image", "changing", "every")
# Words of `show` targets that are not keywords (org.kvmsim.query: each query's words).
SHOW_WORDS = ("vms", "translate", "walk", "mmu", "by", "vcpu", "cpus", "history", "meminfo", "workloads",
              "khugepaged", "hugepages", "pagetables", "events")
# The grammar's literal operators and punctuation.
OPERATORS = ("..", ".", "=", ",", "%")
PUNCTUATION = ("{", "}", "[", "]", "(", ")", ";")

def _group(ws):
    """One regex group matching any of the words, whole: the longest first."""
    return "(" + "|".join(re.escape(w) for w in sorted(ws, key=len, reverse=True)) + r")\b"


_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_NUMBER = r"[0-9][0-9_]*(?:\.[0-9]+)?"  # the grammar's NUMBER: `_` separates digits
_NOT_A_NAME = r"(?!(?:on|like|in)\b)"  # `vm a on h`, `show hugepages on h`: no name declared


class KvmsimLexer(RegexLexer):
    """The kvmsim language: declarations, actions and queries, one statement a line."""

    name = "kvmsim"
    aliases = ["kvmsim"]
    filenames = ["*.kvm"]
    mimetypes = ["text/x-kvmsim"]
    url = "https://github.com/kvmsim/kvmsim"

    tokens = {
        # what reads the same anywhere in a statement
        "common": [
            (r"[ \t\f]+", Whitespace),
            (r"#.*$", Comment.Single),
            (r'"', String.Double, "string"),
            (r"0[xX][0-9a-fA-F_]+", Number.Hex),
            (r"(%s)([ \t]*)(%%)" % _NUMBER, bygroups(Number, Whitespace, Keyword.Type)),
            (r"(%s)([ \t]*)%s" % (_NUMBER, _group(UNITS)),
             bygroups(Number, Whitespace, Keyword.Type)),
            (r"[0-9][0-9_]*\.[0-9]+", Number.Float),
            (r"[0-9][0-9_]*", Number.Integer),
            (r"\.\.", Operator),
            (r"(\.)(%s)" % _IDENT, bygroups(Operator, Name.Attribute)),  # hv1.ksm.pages_to_scan
            (r"(=)([ \t]*)%s" % _group(CONSTANTS),
             bygroups(Operator, Whitespace, Name.Constant)),
            (r"[=.,%]", Operator),
            (r"[{}\[\]();]", Punctuation),
        ],
        "root": [
            (r"\r?\n|\r", Whitespace),
            include("common"),
            (r"(show)\b", Keyword, "show"),
            (r"(%s)(?=[ \t]*=)" % _IDENT, Name.Attribute),
            (r"(ksm)([ \t]+)(policy)([ \t]+)%s(%s)" % (_NOT_A_NAME, _IDENT),
             bygroups(Keyword.Declaration, Whitespace, Keyword.Declaration, Whitespace, Name.Class)),
            (r"%s([ \t]+)%s(%s)" % (_group(("host", "image", "vm", "workload", "pagetable") + BLOCKS), _NOT_A_NAME, _IDENT),
             bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (words(DECLARATIONS + BLOCKS, suffix=r"\b"), Keyword.Declaration),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (words(CONSTANTS, suffix=r"\b"), Name.Constant),
            (_IDENT, Name),
            (r".", Error),
        ],
        # `show TARGET ... [on HOST]` to the end of the statement: targets are builtins
        "show": [
            (r"\r?\n|\r", Whitespace, "#pop"),
            (r";", Punctuation, "#pop"),
            include("common"),
            (r"on\b", Keyword),
            (words(SHOW_WORDS + ("ksm", "vm", "pagetable"), suffix=r"\b"), Name.Builtin),
            (_IDENT, Name),
            (r".", Error),
        ],
        "string": [
            (r'[^"\\\r\n]+', String.Double),
            (r"\\.", String.Escape),
            (r'"', String.Double, "#pop"),
            default("#pop"),  # unterminated at the end of the line: the checker reports it
        ],
    }
