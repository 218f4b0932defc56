"""The annual reporting cycle (报告 → 审核 → 核查): cycles, frozen submissions and their review.

- ``cycles``: a year's cycle (deadline, who must report, each jurisdiction's basis of record) and its status board.
- ``submissions``: an enterprise's annual report, frozen when submitted, in versions; withdrawal; differences.
- ``review``: the jurisdiction's review (start, return with line comments, approve).

Every step takes a ``carbon.access.Viewer``, applies the access rules and is written to the audit log.
"""
