"""The home page's 30-day chart, drawn on the server as SVG geometry.

Bars are orders per day (left axis), the line is revenue per day (right axis).
The template turns this into <rect>, <polyline> and <text>: no script draws it.
"""

from dataclasses import dataclass
from decimal import Decimal

from orders.selectors import DayTotals

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 64, 16, 28
TICKS = 4


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Tick:
    y: float
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class DayLabel:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    line: str
    ticks: list[Tick]
    labels: list[DayLabel]
    plot_left: int
    plot_right: int
    baseline: int


def axis_step(largest: float, *, whole: bool) -> Decimal:
    """A round step (1, 2, 2.5 or 5 × 10^n) such that TICKS steps reach `largest`."""
    target = Decimal(str(largest)) / TICKS
    if target <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (target.adjusted())
    for factor in ("1", "2", "2.5", "5", "10"):
        step = Decimal(factor) * magnitude
        if step >= target and not (whole and step != step.to_integral_value()):
            return max(step, Decimal(1)) if whole else step
    return 10 * magnitude


def orders_and_revenue(days: list[DayTotals], currency: str) -> Chart:
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    order_step = axis_step(max((day.orders for day in days), default=0), whole=True)
    revenue_step = axis_step(max((day.revenue for day in days), default=0), whole=False)
    max_orders, max_revenue = order_step * TICKS, revenue_step * TICKS
    slot = plot_width / max(len(days), 1)
    bars, points, labels = [], [], []
    for index, day in enumerate(days):
        height = plot_height * day.orders / float(max_orders)
        x = LEFT + index * slot
        bars.append(
            Bar(
                x=round(x + slot * 0.15, 1),
                y=round(baseline - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=f"{day.day:%b %d}: {day.orders:,} orders, {currency} {day.revenue:,.2f}",
            )
        )
        y = baseline - plot_height * float(day.revenue / max_revenue)
        points.append(f"{x + slot / 2:.1f},{y:.1f}")
        if index % 7 == (len(days) - 1) % 7:
            labels.append(DayLabel(x=round(x + slot / 2, 1), text=f"{day.day:%b %d}"))
    ticks = [
        Tick(
            y=round(baseline - plot_height * n / TICKS, 1),
            orders=int(order_step * n),
            revenue=revenue_step * n,
        )
        for n in range(TICKS + 1)
    ]
    return Chart(WIDTH, HEIGHT, bars, " ".join(points), ticks, labels, LEFT, WIDTH - RIGHT, baseline)
