// The classic Notebook's (notebook 6.x, CodeMirror 5) highlighting of kvmsim cells. The Notebook
// loads kernel.js from the kernelspec directory with RequireJS and calls its onload()
// (notebook/static/notebook/js/kernelselector.js); it then sets every code cell's mode from
// language_info.codemirror_mode ("kvmsim", notebook.js set_codemirror_mode), which finds this
// mode in CodeMirror.modes. The word lists are kvmsim_pygments.py's (the grammar's keyword tokens,
// Schema's units, block kinds and value words, the show targets); HighlightingTest in kvmsim's
// test suite fails when either file drifts from the grammar.
define(["codemirror/lib/codemirror", "base/js/namespace"], function (CodeMirror, Jupyter) {
    "use strict";

    var DECLARATIONS = ["ksm", "policy", "host", "image", "vm", "workload", "pagetable", "contents"];
    var KEYWORDS = ["on", "like", "in", "run", "until", "write", "set", "start", "stop", "reset", "sweep",
        "show", "plot", "export", "print", "to", "pages", "import", "libvirt", "as", "map", "size",
        "page", "within"];
    var BLOCKS = ["hugepages", "cpu_overrides"];
    var UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "ns", "us", "ms", "s", "min", "h"];
    var CONSTANTS = ["on", "off", "always", "madvise", "never", "none", "scan_time", "skylake", "zen2", "zen",
        "ept", "npt", "shadow", "native", "pc", "q35", "lackey", "champsim", "drmemtrace", "line", "bar",
        "scatter", "anonymous", "thp", "hugepages", "uniform", "sequential", "strided", "zipf",
        "hotcold", "same", "zero", "unique", "image", "changing", "every"];
    var SHOW_WORDS = ["vms", "translate", "walk", "mmu", "by", "vcpu", "cpus", "history", "meminfo", "workloads",
        "khugepaged", "hugepages", "pagetables", "events"];

    function set(list) {
        var s = Object.create(null);
        for (var i = 0; i < list.length; i++) s[list[i]] = true;
        return s;
    }
    var declarations = set(DECLARATIONS), keywords = set(KEYWORDS), blocks = set(BLOCKS), units = set(UNITS),
        constants = set(CONSTANTS), showWords = set(SHOW_WORDS.concat(["ksm", "vm", "pagetable"]));
    // after these a name is declared (`host hv1`, `ksm policy linux`, `hugepages pool2m`)
    var declaring = set(["policy", "host", "image", "vm", "workload", "pagetable", "hugepages"]);

    // Styles are CodeMirror's usual ones, so any theme colours them: keyword, def (a declared
    // name), property (an attribute), atom (a value word), number (a unit too, with a class of its
    // own: cm-unit), builtin (a show target), string, comment, operator, bracket.
    CodeMirror.defineMode("kvmsim", function () {
        return {
            startState: function () {
                return {show: false, afterNumber: false, afterEq: false, afterDot: false, declaring: false};
            },
            token: function (stream, state) {
                if (stream.sol()) state.show = false;  // a statement per line
                if (stream.eatSpace()) return null;
                var afterNumber = state.afterNumber, afterEq = state.afterEq, afterDot = state.afterDot,
                    expectName = state.declaring;
                state.afterNumber = state.afterEq = state.afterDot = state.declaring = false;
                var ch = stream.peek();
                if (ch === "#") { stream.skipToEnd(); return "comment"; }
                if (ch === "\"") {
                    stream.next();
                    while (!stream.eol()) {
                        var c = stream.next();
                        if (c === "\\") stream.next();
                        else if (c === "\"") break;
                    }
                    return "string";
                }
                if (stream.match(/^0[xX][0-9a-fA-F_]+/)) return "number";
                if (stream.match(/^[0-9][0-9_]*(?:\.[0-9]+)?/)) { state.afterNumber = true; return "number"; }
                if (stream.match("..")) return "operator";
                if (ch === "%") { stream.next(); return afterNumber ? "number unit" : "operator"; }
                if (ch === ".") { stream.next(); state.afterDot = true; return "operator"; }
                if (ch === "=") { stream.next(); state.afterEq = true; return "operator"; }
                if (ch === ",") { stream.next(); return "operator"; }
                if (ch === ";") { stream.next(); state.show = false; return "bracket"; }
                if (/[{}\[\]()]/.test(ch)) { stream.next(); return "bracket"; }
                var m = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/);
                if (!m) { stream.next(); return "error"; }
                var w = m[0];
                if (afterNumber && units[w]) return "number unit";    // 32 GiB: one quantity
                if (afterDot) return "property";                      // hv1.ksm.pages_to_scan
                if (afterEq && constants[w]) return "atom";           // thp = never, smart_scan = on
                if (state.show) return w === "on" ? "keyword" : showWords[w] ? "builtin" : "variable";
                if (stream.match(/^[ \t]*=/, false)) return "property";
                if (expectName && w !== "on" && w !== "like" && w !== "in") return "def";
                if (w === "show") { state.show = true; return "keyword"; }
                if (declarations[w] || blocks[w]) { state.declaring = !!declaring[w]; return "keyword"; }
                if (keywords[w]) return "keyword";
                if (constants[w]) return "atom";
                return "variable";
            },
            lineComment: "#"
        };
    });
    CodeMirror.defineMIME("text/x-kvmsim", "kvmsim");
    if (CodeMirror.modeInfo && !CodeMirror.findModeByName("kvmsim")) {
        CodeMirror.modeInfo.push({name: "kvmsim", mime: "text/x-kvmsim", mode: "kvmsim", ext: ["kvm"]});
    }

    return {
        onload: function () {
            // The notebook may have asked for the mode (from its saved language_info) before this
            // file was loaded and fallen back to no highlighting: set it again now that it exists.
            var nb = Jupyter.notebook;
            if (nb && nb.set_codemirror_mode) nb.set_codemirror_mode("kvmsim");
        }
    };
});
