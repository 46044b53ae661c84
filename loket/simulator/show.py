"""How the simulator shows itself: a progress bar with events per second while it sends, and its figures."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from rich.text import Text

from loket.simulator.figures import SERVICE_LEVEL_SECONDS, Figures, mean
from loket.simulator.send import Sent
from schemas.contacts import Channel


class RateColumn(ProgressColumn):
    """Requests (each one event) per second, over the last half minute."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:>5,.0f} events/s", style="progress.data.speed")


def progress(console: Console) -> Progress:
    """A progress bar whose task has a ``clock`` field: the simulated time of the latest request."""
    whole = Column(no_wrap=True)
    return Progress(TextColumn("{task.description}"), BarColumn(bar_width=20), MofNCompleteColumn(),
                    RateColumn(table_column=whole), TextColumn("simulated {task.fields[clock]}", table_column=whole),
                    TimeElapsedColumn(), console=console)


def figures_table(figures: Figures, title: str) -> Table:
    """The simulator's own figures of its day."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for channel in Channel:
        table.add_row(f"questions by {channel.value}", str(figures.questions[channel.value]))
    table.add_row("questions in all", str(sum(figures.questions.values())))
    table.add_row("  of which repeat contacts", str(figures.repeats))
    table.add_row("  of which complaints", str(figures.complaints), end_section=True)
    phone = figures.phone
    table.add_row(f"phone: calls offered ({phone.agents} agents)", f"{phone.offered} ({phone.retries} calling again)")
    table.add_row("phone: answered", str(phone.answered))
    table.add_row("phone: abandoned", f"{phone.abandoned} ({phone.abandon_ratio:.1%})")
    table.add_row("phone: transferred to another organisation", str(phone.transferred))
    table.add_row("phone: mean wait (answered)", _seconds(phone.mean_wait))
    table.add_row("phone: 90th percentile wait (answered)", _seconds(phone.p90_wait))
    table.add_row(f"phone: service level (answered within {SERVICE_LEVEL_SECONDS} s)", f"{phone.service_level:.1%}")
    table.add_row("phone: mean handle time (talk and wrap-up)", _seconds(phone.mean_handle), end_section=True)
    counter = figures.counter
    table.add_row("counter: appointments", f"{counter.appointments} ({counter.no_shows} no-shows)")
    table.add_row("counter: mean call after the booked time", _seconds(mean(counter.lateness)))
    table.add_row("counter: walk-ins", f"{counter.walk_ins} ({counter.walk_ins_left} left before their turn)")
    table.add_row("counter: mean walk-in wait", _seconds(mean(counter.walk_in_waits)), end_section=True)
    replies = figures.replies
    table.add_row("first replies to web, e-mail and letters",
                  f"{sum(replies.values())} within the run ({figures.replies_later} later)")
    scores = figures.scores
    table.add_row("satisfaction scores (KTO)", f"{len(scores)} (mean {mean([float(s) for s in scores]):.1f})")
    return table


def _seconds(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def sent_summary(sent: Sent) -> str:
    """One line of what the intake took, and the first refusals' reasons, if any."""
    taken = ", ".join(f"{door} {count}" for door, count in sorted(sent.taken.items()))
    lines = [f"taken: {taken or 'nothing'}"]
    if sent.refused:
        lines.append("refused: " + ", ".join(f"{door} {count}" for door, count in sorted(sent.refused.items())))
        lines.extend(f"  {reason}" for reason in sent.reasons)
    if sent.orphaned:
        lines.append(f"scores and replies not sent, as their question was refused: {sent.orphaned}")
    return "\n".join(lines)
