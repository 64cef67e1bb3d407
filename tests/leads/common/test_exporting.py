"""Spreadsheet exports: formulas neutralised, times in the user's zone even when streamed."""

from datetime import UTC, datetime

from django.utils import timezone

from leads.common.exporting import cell_safe, rows_export_response


def test_formula_looking_text_becomes_text():
    assert cell_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [cell_safe(v) for v in ("+1", "-2", "@SUM(A1)", "\tx", "Ann")] == ["'+1", "'-2", "'@SUM(A1)", "'\tx", "Ann"]
    assert cell_safe(42) == 42 and cell_safe(None) == ""


def test_a_streamed_csv_shows_times_in_the_zone_of_the_user_who_asked():
    """Regression: the body is written after the time-zone middleware has deactivated the user's
    zone, so streamed exports used to show the site's zone."""
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with timezone.override("Asia/Tokyo"):
        response = rows_export_response(header=["When"], rows=iter([[moment]]), fmt="csv", filename="x")
    with timezone.override("UTC"):
        body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines() == ["When", "2026-03-01 21:00:00"]


def test_control_characters_do_not_break_an_xlsx_export():
    """Broke: a \\u0007 in any field (a name typed into a form) made openpyxl raise IllegalCharacterError:
    the bulk, segment and dashboard XLSX exports answered 500."""
    import io

    from openpyxl import load_workbook

    response = rows_export_response(
        header=["Name\x01"], rows=iter([["Ann\u0007Bell", "\x0b=1+1", 3]]), fmt="xlsx", filename="x"
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet["A1"].value == "Name\ufffd"
    assert [cell.value for cell in sheet[2]] == ["Ann\ufffdBell", "\ufffd=1+1", 3]
