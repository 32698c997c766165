"""Why input was rejected: one vocabulary for the framer, the parser and the platform's checks.

The values are stable machine codes: they are stored in ``quarantine.reason``, printed by
``qingshan hj212 check`` (``"error"``) and ``qingshan ingest-file``, and shown by the web app.
Never rename a value; add a member for a new reason.

A :class:`Reason` is a :class:`str`, so it compares equal to its value and is stored and printed
as that value.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Rejection reason codes, grouped by the stage that finds them."""

    # -- stream framing (Framer): the bytes are not a frame
    GARBAGE = "garbage"  #: bytes before '##'
    TRUNCATED = "truncated"  #: a frame cut short by the next header or before its CRC
    NO_FRAME_END = "no_frame_end"  #: no CRC/CRLF where the length field says

    # -- frame checks (Framer and parser)
    EMPTY = "empty"  #: no data at all
    NO_HEADER = "no_header"  #: does not start with '##'
    BAD_LENGTH = "bad_length"  #: the length field is not 4 digits
    LENGTH_MISMATCH = "length_mismatch"  #: the length field disagrees with the data segment
    SEGMENT_TOO_LONG = "segment_too_long"  #: data segment above the configured maximum
    BAD_CRC_FORMAT = "bad_crc_format"  #: the CRC field is not 4 hex digits
    CRC_MISMATCH = "crc_mismatch"  #: CRC differs from the one computed over the segment
    TRAILING_DATA = "trailing_data"  #: bytes after the packet's CRLF
    BAD_ENCODING = "bad_encoding"  #: the segment is not text in the device's encoding
    ENCRYPTED_CP = "encrypted_cp"  #: SM4-encrypted CP and no key for the device
    BAD_CIPHERTEXT = "bad_ciphertext"  #: the encrypted CP does not decrypt to text

    # -- data segment (parser)
    BAD_CP = "bad_cp"  #: CP malformed (not closed, item without '=', empty code)
    MISSING_FIELD = "missing_field"  #: a required header field (or PNUM/PNO pair) is missing
    BAD_FIELD = "bad_field"  #: a header field malformed (QN, PW, MN format, unknown field, RF)
    DUPLICATE_FIELD = "duplicate_field"  #: a field given twice with different values
    UNKNOWN_ST = "unknown_st"  #: ST not in the system code table
    UNKNOWN_CN = "unknown_cn"  #: CN not in the command code table
    #: Flag not a number 0–255 or contradicting the registered edition; at ingest also a
    #: data flag (``xxx-Flag``) outside N F M S D C T B that lenient parsing let through.
    BAD_FLAG = "bad_flag"
    BAD_DATATIME = "bad_datatime"  #: DataTime (or another time) is not YYYYMMDDhhmmss
    BAD_VALUE = "bad_value"  #: a measured value is not a finite decimal number
    #: a decimal number with more integer digits or decimals than its field's HJ 212 data
    #: format allows (``N14.6``: at most 14 digits before and 6 after the point)
    VALUE_OUT_OF_FORMAT = "value_out_of_format"
    BAD_DATA_FLAG = "bad_data_flag"  #: a data flag outside N F M S D C T B (parser)
    TRAILING_SEPARATOR = "trailing_separator"  #: CP ends with ';' or ','
    BAD_SPLIT = "bad_split"  #: PNUM/PNO not numbers, PNO outside 1..PNUM, bit 1 unset

    # -- the platform's checks before storage (authentication, upload content)
    UNKNOWN_MN = "unknown_mn"  #: MN not registered (QnRtn 4)
    RETIRED_DEVICE = "retired_device"  #: MN registered but retired (QnRtn 4)
    WRONG_PW = "wrong_pw"  #: access password does not match (QnRtn 3)
    WRONG_ST = "wrong_st"  #: ST neither the device's nor 91 系统交互 (QnRtn 5)
    MISSING_DATATIME = "missing_datatime"  #: a data upload without DataTime
    #: DataTime further ahead of the server clock than the configured window allows
    DATATIME_FUTURE = "datatime_future"
    #: DataTime further back than the configured window for late data allows
    DATATIME_TOO_OLD = "datatime_too_old"
    #: an MN, QN, CN or factor code longer than the database column that stores it
    CODE_TOO_LONG = "code_too_long"
    #: the database refused to store the packet (its message is the detail)
    DB_REFUSED = "db_refused"
