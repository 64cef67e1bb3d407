"""The SVG drawing: round axes, escaped text, a title per bar."""

from leads.reporting.charts import axis_ticks, column_chart, hbar_chart


def test_axes_end_on_round_numbers_and_counts_tick_in_whole_numbers():
    assert axis_ticks(5) == [0, 2, 4, 6, 8]
    assert axis_ticks(228_530)[-1] == 240_000
    assert axis_ticks(0) == [0, 1, 2, 3, 4]
    assert axis_ticks(0.5, whole=False)[-1] >= 0.5


def test_text_typed_by_users_is_escaped_and_every_bar_has_its_title():
    svg = hbar_chart(
        slug="t",
        title="Leads <by> source",
        desc="A & B",
        categories=["<script>alert(1)</script>", "Email"],
        series=["Leads"],
        values=[[3], [None]],
    )
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;: 3" in svg
    assert '<title id="t-title">Leads &lt;by&gt; source</title>' in svg and "A &amp; B" in svg
    assert svg.count("<rect") == 1  # None: no bar


def test_stacked_columns_put_each_series_in_the_legend():
    svg = column_chart(
        slug="c", title="T", desc="D", categories=["Mon", "Tue"], series=["Web form", "Email"], values=[[2, 1], [0, 4]]
    )
    assert "<title>Mon · Web form: 2</title>" in svg and "<title>Tue · Email: 4</title>" in svg
    assert "<title>Tue · Web form: 0</title>" not in svg  # no empty bar
    assert ">Web form</text>" in svg and ">Email</text>" in svg
