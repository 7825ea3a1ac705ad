"""CSV files as shops save them. A spreadsheet set to Dutch (or German, French...) writes `;` between fields,
because `,` is its decimal comma; some exports use tabs. The header says which: it must hold the columns asked for.
"""

import csv
from collections.abc import Collection

DELIMITERS = (",", ";", "\t")


def delimiter_for(header_line: str, columns: Collection[str]) -> str:
    """The delimiter that splits `header_line` into fields holding every one of `columns`; "," when none does (an
    error then names the columns as a comma splits them)."""
    for delimiter in DELIMITERS:
        fields = {field.strip() for field in next(csv.reader([header_line], delimiter=delimiter), [])}
        if all(column in fields for column in columns):
            return delimiter
    return ","
