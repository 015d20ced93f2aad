"""List items as a tree, built from markdown-it-py tokens with their source lines."""

from __future__ import annotations

from dataclasses import dataclass, field

from markdown_it.token import Token


@dataclass
class ListNode:
    line: int  # 0-based, absolute
    end: int  # exclusive
    paragraphs: list[str] = field(default_factory=list)  # inline Markdown of direct paragraphs
    children: list[ListNode] = field(default_factory=list)
    ordered: bool = False

    @property
    def text(self) -> str:
        return self.paragraphs[0] if self.paragraphs else ""

    @property
    def rest(self) -> list[str]:
        return self.paragraphs[1:]

    def all_text(self) -> str:
        """Every paragraph of this node and its descendants, for ticket references."""
        parts = list(self.paragraphs)
        for c in self.children:
            parts.append(c.all_text())
        return "\n".join(parts)


@dataclass
class Block:
    """A top-level block of a region: a heading, a paragraph or a list."""

    kind: str  # "heading" | "paragraph" | "list"
    line: int
    end: int
    text: str = ""
    level: int = 0
    items: list[ListNode] = field(default_factory=list)


def blocks(tokens: list[Token], offset: int) -> list[Block]:
    """Top-level blocks of a token stream; list items nested as trees."""
    out: list[Block] = []
    stack: list[ListNode] = []
    list_depth = 0
    current_list: Block | None = None
    pending_heading: Block | None = None
    para_line = 0
    in_para = False
    for tok in tokens:
        t = tok.type
        if t in ("bullet_list_open", "ordered_list_open"):
            if list_depth == 0:
                m = tok.map or [0, 0]
                current_list = Block("list", m[0] + offset, m[1] + offset)
                out.append(current_list)
            list_depth += 1
        elif t in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
            if list_depth == 0:
                current_list = None
        elif t == "list_item_open":
            m = tok.map or [0, 0]
            node = ListNode(m[0] + offset, m[1] + offset, ordered=tok.markup in (".", ")"))
            if stack:
                stack[-1].children.append(node)
            elif current_list is not None:
                current_list.items.append(node)
            stack.append(node)
        elif t == "list_item_close":
            stack.pop()
        elif t == "heading_open" and list_depth == 0:
            m = tok.map or [0, 0]
            pending_heading = Block("heading", m[0] + offset, m[1] + offset, level=int(tok.tag[1]))
            out.append(pending_heading)
        elif t == "heading_close":
            pending_heading = None
        elif t == "paragraph_open":
            in_para = True
            para_line = (tok.map or [0, 0])[0] + offset
            para_end = (tok.map or [0, 0])[1] + offset
        elif t == "paragraph_close":
            in_para = False
        elif t == "inline":
            if pending_heading is not None:
                pending_heading.text = tok.content
            elif in_para and stack:
                stack[-1].paragraphs.append(tok.content)
            elif in_para and list_depth == 0:
                out.append(Block("paragraph", para_line, para_end, text=tok.content))
    return out
