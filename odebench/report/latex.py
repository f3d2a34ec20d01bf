"""LaTeX (booktabs) twins of the Markdown tables, for ``\\input`` into a paper.

:func:`markdown_to_latex` reads the Markdown the table writers produce (``#`` title, ``##``
sections, paragraphs, ``- `` lists, pipe tables, ``**bold**``, ``*emphasis*``) and writes one
``table`` float per pipe table: ``\\toprule`` / ``\\midrule`` / ``\\bottomrule``, the title,
section and the paragraph just above the table as its caption, the paragraphs just below it
as notes inside the float. Special characters are escaped (``_ % & # $ { } ~ ^ \\``) and the
Unicode of the headers and numbers becomes LaTeX math (``‖∇θ‖`` -> ``$\\|\\nabla \\theta \\|$``,
``0.433 ± 0.004`` -> ``$0.433 \\pm 0.004$``, ``× 10⁻⁷`` -> ``\\times 10^{-7}``), so the file needs
only ``\\usepackage{booktabs}`` (no amsmath, no jinja2 / pandas Styler).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Unicode -> LaTeX math (a token holding any of these is typeset in math mode).
MATH_SYMBOLS: dict[str, str] = {
    "±": r"\pm", "×": r"\times", "−": "-", "‖": r"\|", "∇": r"\nabla", "∂": r"\partial",
    "∫": r"\int", "∑": r"\sum", "∞": r"\infty", "≤": r"\leq", "≥": r"\geq", "≈": r"\approx",
    "≠": r"\neq", "←": r"\leftarrow", "→": r"\rightarrow", "·": r"\cdot", "√": r"\surd",
    "½": r"\frac{1}{2}", "∈": r"\in", "⊤": r"\top",
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon",
    "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "κ": r"\kappa", "λ": r"\lambda",
    "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi", "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma",
    "τ": r"\tau", "φ": r"\phi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega",
    "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Σ": r"\Sigma",
    "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega",
}
SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺ᵀ", [*"0123456789-+", r"\top"], strict=True))
SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₋₊", "0123456789-+", strict=True))
# Unicode -> LaTeX text (outside math).
TEXT_SYMBOLS: dict[str, str] = {
    "–": "--", "—": "---", "’": "'", "‘": "`", "“": "``", "”": "''", "…": r"\ldots{}",
    "§": r"\S{}", "ö": r"\"{o}", "ä": r"\"{a}", "ü": r"\"{u}", "é": r"\'{e}", "è": r"\`{e}",
    "°": r"\ensuremath{^\circ}", "\u00a0": "~", "✓": r"\ensuremath{\surd}",
    "✗": r"\ensuremath{\times}",
}
TEXT_ESCAPES: dict[str, str] = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "%": r"\%", "&": r"\&",
    "#": r"\#", "$": r"\$", "^": r"\^{}", "~": r"\~{}", "<": r"\textless{}",
    ">": r"\textgreater{}", "|": r"\textbar{}",
}
MATH_ESCAPES: dict[str, str] = {"%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "{": r"\{",
                                "}": r"\}", "~": r"\sim", "\\": r"\backslash"}
_MATH_CHARS = set(MATH_SYMBOLS) | set(SUPERSCRIPTS) | set(SUBSCRIPTS)
_NUMBER = re.compile(r"^[(\[]*[-+]?\d[\d.,]*[)\]]*[,;:.]?$")
_OPERATOR = re.compile(r"^[/=+*<>-]$")
_NEGATIVE = re.compile(r"^[(\[]*-(\d|∞)")
_EMPHASIS = re.compile(r"(\*\*.+?\*\*|(?<![\w*])\*[^*\s][^*]*?\*(?![\w*]))")
_NUMERIC_CELL = re.compile(r"^[\s\d.,()+\-−±×⁰¹²³⁴⁵⁶⁷⁸⁹⁻–∞]*$")


def _is_math(token: str) -> bool:
    return any(c in _MATH_CHARS for c in token) or bool(_NEGATIVE.match(token))


def _closing(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at ``start`` (the end when unbalanced)."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return len(text) - 1


def _command(name: str) -> str:
    """A math command with a space after it when it ends in a letter (``\\theta x``)."""
    return f"{name} " if name[-1].isalpha() else name


def math(token: str) -> str:
    """One token in math mode (no ``$``): symbols, sub/superscript runs, ``_word`` and
    ``^(...)`` grouped."""
    out, index = [], 0
    while index < len(token):
        char = token[index]
        if char in SUPERSCRIPTS or char in SUBSCRIPTS:
            table, mark = (SUPERSCRIPTS, "^") if char in SUPERSCRIPTS else (SUBSCRIPTS, "_")
            run = []
            while index < len(token) and token[index] in table:
                run.append(table[token[index]])
                index += 1
            out.append(f"{mark}{{{''.join(run)}}}")
            continue
        if char == "_":
            word = re.match(r"[A-Za-z0-9]+", token[index + 1:])
            if word:
                text = word.group()
                out.append(f"_{{{text}}}" if len(text) == 1 else f"_{{\\mathrm{{{text}}}}}")
                index += 1 + len(text)
                continue
            out.append(r"\_")
        elif char == "^" and token[index + 1:index + 2] == "(":
            end = _closing(token, index + 1)
            out.append(f"^{{{math(token[index + 1:end + 1])}}}")
            index = end + 1
            continue
        elif char in MATH_SYMBOLS:
            out.append(_command(MATH_SYMBOLS[char]))
        elif char in MATH_ESCAPES:
            out.append(_command(MATH_ESCAPES[char]))
        elif char.isascii():
            out.append(char)
        else:
            out.append(f"\\mbox{{{text_mode(char)}}}")
        index += 1
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def text_mode(token: str) -> str:
    """Text outside math: LaTeX specials escaped, typographic Unicode as LaTeX, a straight
    double quote opening at the start of a word (````) and closing elsewhere (``''``)."""
    out = []
    for index, char in enumerate(token):
        if char == '"':
            out.append("``" if index == 0 else "''")
        else:
            out.append(TEXT_ESCAPES.get(char) or TEXT_SYMBOLS.get(char) or char)
    return "".join(out)


def _math_group(raw: str) -> str:
    """``$...$`` for a run of math tokens; an unmatched opening or closing parenthesis at
    its ends stays outside (``(10⁴ steps)`` -> ``($10^{4}$ steps)``)."""
    before = after = ""
    if raw.startswith("(") and raw.count("(") > raw.count(")"):
        before, raw = "(", raw[1:]
    if raw.endswith((")", ",", ";", ":")) and (raw[-1] != ")" or
                                               raw.count(")") > raw.count("(")):
        raw, after = raw[:-1], raw[-1]
    return f"{before}${math(raw)}${text_mode(after)}"


def _plain(text: str) -> str:
    """Whitespace-separated tokens: those with math symbols, numbers beside them and lone
    operators between them go to math mode (neighbours merged into one ``$...$``); the rest
    are escaped text."""
    parts = [p for p in re.split(r"(\s+)", text) if p]
    words = [i for i, p in enumerate(parts) if not p.isspace()]
    genuine = {i: _is_math(parts[i]) for i in words}
    in_math = dict(genuine)
    for position, i in enumerate(words):
        before = words[position - 1:position] if position else []
        after = words[position + 1:position + 2]
        if genuine[i]:
            continue
        if _NUMBER.match(parts[i]) and any(genuine[j] for j in before + after):
            in_math[i] = True
        elif _OPERATOR.match(parts[i]) and before and after and genuine[before[0]] \
                and genuine[after[0]]:
            in_math[i] = True
    out, group, spaced = [], [], False
    for i, part in enumerate(parts):
        if part.isspace():
            if group:
                spaced = True  # decided by the next token: inside the math run or after it
            else:
                out.append(" ")
            continue
        if in_math[i]:
            group.append(part)
            spaced = False
            continue
        if group:
            out.append(_math_group(" ".join(group)) + (" " if spaced else ""))
            group, spaced = [], False
        out.append(text_mode(part))
    if group:
        out.append(_math_group(" ".join(group)) + (" " if spaced else ""))
    return "".join(out)


def inline(text: str) -> str:
    """A Markdown span (``**bold**``, ``*emphasis*``, plain text) as LaTeX."""
    out = []
    for piece in _EMPHASIS.split(text):
        if not piece:
            continue
        if piece.startswith("**") and piece.endswith("**") and len(piece) > 4:
            out.append(f"\\textbf{{{inline(piece[2:-2])}}}")
        elif _EMPHASIS.fullmatch(piece):
            out.append(f"\\emph{{{inline(piece[1:-1])}}}")
        else:
            out.append(_plain(piece))
    return "".join(out)


@dataclass
class _Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    label: str = ""
    notes: list[str] = field(default_factory=list)

    def columns(self) -> str:
        """``l`` for text columns, ``r`` for numeric ones (every cell a number or a dash)."""
        spec = []
        for index in range(len(self.header)):
            cells = [r[index].replace("*", "") for r in self.rows if index < len(r)]
            numeric = bool(cells) and all(_NUMERIC_CELL.match(c) for c in cells) \
                and any(c.strip("– ") for c in cells)
            spec.append("r" if numeric else "l")
        return "".join(spec)

    def render(self) -> str:
        lines = [r"\begin{table}[htbp]", r"\centering", r"\small"]
        if self.caption:
            lines.append(f"\\caption{{{self.caption}}}")
        if self.label:
            lines.append(f"\\label{{{self.label}}}")
        lines += [f"\\begin{{tabular}}{{{self.columns()}}}", r"\toprule",
                  " & ".join(inline(c) for c in self.header) + r" \\", r"\midrule"]
        width = len(self.header)
        for row in self.rows:
            cells = (row + [""] * width)[:width]
            lines.append(" & ".join(inline(c) for c in cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        for note in self.notes:
            lines += [r"\par\smallskip", f"{{\\footnotesize {inline(note)}\\par}}"]
        lines.append(r"\end{table}")
        return "\n".join(lines)


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [cell.strip() for cell in inner.split("|")]


def _blocks(text: str) -> list[tuple[str, object]]:
    """(kind, content): ``heading`` (level, text), ``table`` (header, rows), ``list`` (items),
    ``para`` (text)."""
    blocks: list[tuple[str, object]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index].rstrip()
        if not line.strip():
            index += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            blocks.append(("heading", (level, line[level:].strip())))
            index += 1
        elif line.lstrip().startswith("|"):
            rows = []
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                rows.append(_cells(lines[index]))
                index += 1
            body = [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            blocks.append(("table", (rows[0], body)))
        elif line.startswith("- "):
            items = []
            while index < len(lines) and lines[index].startswith("- "):
                items.append(lines[index][2:].strip())
                index += 1
            blocks.append(("list", items))
        else:
            paragraph = []
            while index < len(lines) and lines[index].strip() and not \
                    lines[index].startswith(("#", "- ")) and \
                    not lines[index].lstrip().startswith("|"):
                paragraph.append(lines[index].strip())
                index += 1
            blocks.append(("para", " ".join(paragraph)))
    return blocks


def _label(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9:.-]+", "-", label)


def markdown_to_latex(text: str, label: str = "", source: str = "") -> str:
    """The Markdown of a table writer as LaTeX: one booktabs ``table`` per pipe table
    (label ``tab:<label>``, then ``tab:<label>-2`` ...), the rest as paragraphs, itemize
    lists and ``\\paragraph`` headings."""
    blocks = _blocks(text)
    title, section, heading = "", "", ""
    out: list[object] = [f"% Generated by odebench{f' from {source}' if source else ''}; "
                         "needs \\usepackage{booktabs}."]
    tables = 0
    last_table: _Table | None = None
    for index, (kind, content) in enumerate(blocks):
        following = blocks[index + 1][0] if index + 1 < len(blocks) else None
        if kind == "heading":
            level, words = content
            last_table = None
            if level == 1:
                title, section, heading = words, "", ""
                out.append(f"% {words}")
            else:
                section = heading = words
            continue
        if kind == "para" and following == "table":
            continue  # the caption of the next table
        if kind == "table":
            tables += 1
            above = blocks[index - 1] if index else None
            caption = " --- ".join(inline(p) for p in (title, section) if p)
            if above and above[0] == "para":
                caption += (". " if caption else "") + inline(above[1])
            name = f"tab:{_label(label)}" + (f"-{tables}" if tables > 1 else "") if label \
                else ""
            header, rows = content
            last_table = _Table(header, rows, caption, name)
            out.append(last_table)
            heading = ""
            continue
        if kind == "para" and last_table is not None:
            last_table.notes.append(content)
            continue
        last_table = None
        if heading:
            out.append(f"\\paragraph{{{inline(heading)}}}")
            heading = ""
        if kind == "list":
            out.append("\n".join([r"\begin{itemize}", *[f"\\item {inline(i)}" for i in content],
                                  r"\end{itemize}"]))
        else:
            out.append(inline(content))
    return "\n\n".join(o.render() if isinstance(o, _Table) else o for o in out) + "\n"
