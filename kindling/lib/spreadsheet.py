"""CSV cells that a spreadsheet opens safely: a cell starting with = + - @ (or a tab or carriage
return, which some spreadsheets skip before looking) would be read as a formula, so that a message
body could run one on the reader's machine. Such cells get a leading apostrophe, which spreadsheets
show as text."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row) -> list:
    return [safe_cell(value) for value in row]
