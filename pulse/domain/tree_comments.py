"""Comments over the unit tree: the groups one round releases, for every report of the round at once.

Comments cannot be noised, and comment lists subtract as sets: whoever reads a region's comments in a
leader's report and one store's in the organisation's can take the second list out of the first. So
the groups that may be released are planned like counts (``pulse.domain.tree_plan``): cells of the
tree whose long-standing respondents reach the comment threshold, complementary suppression at that
threshold (a released cell minus its released cells below it is empty or holds at least the threshold),
newcomers never counting towards it.

Each comment is then released once, in the group of the smallest released cell that holds its
writer's department: the department itself, or the rest of an inner unit (its people not in a released
group below it, kind ``remainder``), or the rest of the organisation (``POOLED_COMMENT_GROUP``). These
groups partition the released comments; a leader's report regroups those of its scope by its child
units, which shows each released cell's comments and nothing else. On a flat organisation this is the
rule it always was: departments that reach the threshold, and one pool that takes the smallest of them
until it does too.
"""

from __future__ import annotations

from collections.abc import Sequence

from pulse.domain.disclosure import (
    POOLED_COMMENT_GROUP,
    CommentGroup,
    CommentSource,
    Redactor,
    ReleasedComment,
    effective_comment_threshold,
)
from pulse.domain.items import COMMENT_MAX_LENGTH
from pulse.domain.tree_plan import TreePlan
from pulse.domain.units import UnitPath, format_unit_path

KIND_DEPARTMENT = "unit"
KIND_REMAINDER = "remainder"
KIND_ORGANIZATION = "organization"


def _clean(comments: Sequence[str], redactor: Redactor) -> tuple[ReleasedComment, ...]:
    cleaned = (redactor.redact(c.strip()[:COMMENT_MAX_LENGTH]) for c in comments)
    return tuple(sorted(ReleasedComment(text.strip(), count) for text, count in cleaned if text.strip()))


def disclose_tree_comments(
    sources: Sequence[CommentSource],
    plan: TreePlan,
    *,
    threshold: int,
    closed: bool,
    directory_terms: Sequence[str],
) -> tuple[CommentGroup, ...]:
    """The comment groups of a round (see the module docstring): none before it closes."""
    limit = effective_comment_threshold(threshold, plan.min_group_size)
    if not closed:
        return ()
    shape = plan.round_tree
    long_standing = {s.name: s.responded for s in sources if s.long_standing and s.name in shape.cell_of}
    newcomers = sum(s.responded for s in sources if not s.long_standing or s.name not in shape.cell_of)
    verdicts = plan.suppress(long_standing, limit, unattributed=newcomers)
    if not verdicts.organization:
        return ()
    department_of_cell = {cell: name for name, cell in shape.cell_of.items()}

    def home(name: str) -> UnitPath:
        # The smallest released cell holding the department; () is the rest of the organisation.
        if name not in shape.cell_of:
            return ()
        cell = shape.cell_of[name]
        for depth in range(len(cell), 0, -1):
            if cell[:depth] in verdicts.units and verdicts.units[cell[:depth]] is None:
                return cell[:depth]
        return ()

    grouped: dict[UnitPath, list[str]] = {}
    for source in sources:
        if source.comments:
            grouped.setdefault(home(source.name) if source.long_standing else (), []).extend(source.comments)
    redactor = Redactor(directory_terms)
    released: list[CommentGroup] = []
    for cell, texts in grouped.items():
        comments = _clean(texts, redactor)
        if not comments:
            continue
        if not cell:
            released.append(CommentGroup(POOLED_COMMENT_GROUP, comments, KIND_ORGANIZATION))
        elif cell in department_of_cell:
            released.append(CommentGroup(department_of_cell[cell], comments, KIND_DEPARTMENT))
        else:
            released.append(CommentGroup(format_unit_path(cell), comments, KIND_REMAINDER))
    order = {KIND_DEPARTMENT: 0, KIND_REMAINDER: 0, KIND_ORGANIZATION: 1}
    return tuple(sorted(released, key=lambda g: (order[g.kind], g.group, g.kind)))
