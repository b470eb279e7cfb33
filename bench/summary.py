"""The table a run ends with: each measure, its reference from the same run, their
ratio, the goal of issue #8 and whether it is met."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Goal:
    """A bound on the ratio (or, with `on_value`, on the value itself)."""

    bound: float
    kind: Literal[">=", "<=", "=="]
    on_value: bool = False
    text: str = ""  # how to print it, when the bound alone does not say

    def met(self, value: float, ratio: float | None) -> bool | None:
        figure = value if self.on_value else ratio
        if figure is None:
            return None
        if self.kind == ">=":
            return figure >= self.bound
        if self.kind == "<=":
            return figure <= self.bound
        return figure == self.bound

    def describe(self) -> str:
        return self.text or f"{'' if self.on_value else 'ratio '}{self.kind} {self.bound:g}"


def ratio_at_least(bound: float) -> Goal:
    return Goal(bound, ">=")


def ratio_at_most(bound: float) -> Goal:
    return Goal(bound, "<=")


def value_at_least(bound: float, text: str) -> Goal:
    return Goal(bound, ">=", on_value=True, text=text)


def value_at_most(bound: float, text: str) -> Goal:
    return Goal(bound, "<=", on_value=True, text=text)


def value_is(bound: float, text: str) -> Goal:
    return Goal(bound, "==", on_value=True, text=text)


@dataclass(frozen=True)
class Row:
    measure: str
    value: float
    unit: str  # "ms", "req/s", "MiB", "B", "SSIM", "" (a count)
    reference_name: str
    reference: float | None  # None: no reference figure (the goal is on the value)
    goal: Goal | None = None

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.goal.met(self.value, self.ratio)


def figure(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value * 1000:.1f} ms"
    if unit in ("req/s", "MiB"):
        return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "SSIM":
        return f"{value:.4f}"
    return f"{value:g}"


def print_table(title: str, rows: list[Row]) -> None:
    cells = [
        (
            row.measure,
            figure(row.value, row.unit),
            row.reference_name
            + ("" if row.reference is None else f" {figure(row.reference, row.unit)}"),
            "" if row.ratio is None else f"{row.ratio:.2f}",
            "" if row.goal is None else row.goal.describe(),
            {None: "", True: "yes", False: "NO"}[row.met],
        )
        for row in rows
    ]
    header = ("measure", "value", "reference", "ratio", "goal", "met")
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    right = {1, 3}  # numbers
    print(f"{title}; ratio = value / reference")

    def line(c: tuple[str, ...]) -> str:
        return "  ".join(
            c[i].rjust(widths[i]) if i in right else c[i].ljust(widths[i]) for i in range(len(c))
        ).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print(line(c))
    goals = [row.met for row in rows if row.met is not None]
    print(f"goals met: {goals.count(True)} of {len(goals)}")
