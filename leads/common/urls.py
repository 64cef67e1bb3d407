"""A page's URLs reversed once: a list or the board reverses its route with a marker for the
object's number, then fills in each object's own. Reversing per row was ~10 % of a 500-lead API
page and 50 reversals of the HTML list."""

PK_MARKER = 987_654_321_987_654_321  # a number no lead id is: it appears in the reversed URL once


def pk_filled(pattern: str, pk) -> str:
    """`pattern` (a URL reversed with PK_MARKER) for the object with this primary key."""
    return pattern.replace(str(PK_MARKER), str(pk))
