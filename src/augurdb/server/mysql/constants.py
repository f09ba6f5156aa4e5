"""Numbers of the MySQL client/server protocol that this server speaks.

Names follow MySQL's own (`include/mysql_com.h`, `field_types.h`) so they can be
looked up in the protocol documentation.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class Capability(IntFlag):
    """Client/server capability flags exchanged in the handshake."""

    LONG_PASSWORD = 1
    FOUND_ROWS = 1 << 1
    LONG_FLAG = 1 << 2
    CONNECT_WITH_DB = 1 << 3
    NO_SCHEMA = 1 << 4
    COMPRESS = 1 << 5
    ODBC = 1 << 6
    LOCAL_FILES = 1 << 7
    IGNORE_SPACE = 1 << 8
    PROTOCOL_41 = 1 << 9
    INTERACTIVE = 1 << 10
    SSL = 1 << 11
    IGNORE_SIGPIPE = 1 << 12
    TRANSACTIONS = 1 << 13
    RESERVED = 1 << 14
    SECURE_CONNECTION = 1 << 15
    MULTI_STATEMENTS = 1 << 16
    MULTI_RESULTS = 1 << 17
    PS_MULTI_RESULTS = 1 << 18
    PLUGIN_AUTH = 1 << 19
    CONNECT_ATTRS = 1 << 20
    PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21
    CAN_HANDLE_EXPIRED_PASSWORDS = 1 << 22
    SESSION_TRACK = 1 << 23
    DEPRECATE_EOF = 1 << 24


# What we offer (and SSL when TLS is on). No COMPRESS, no SESSION_TRACK (OK packets
# would need the extra session-state fields), no LOCAL_FILES (LOAD DATA LOCAL).
SERVER_CAPABILITIES = (
    Capability.LONG_PASSWORD
    | Capability.FOUND_ROWS
    | Capability.LONG_FLAG
    | Capability.CONNECT_WITH_DB
    | Capability.NO_SCHEMA
    | Capability.ODBC
    | Capability.IGNORE_SPACE
    | Capability.PROTOCOL_41
    | Capability.INTERACTIVE
    | Capability.IGNORE_SIGPIPE
    | Capability.TRANSACTIONS
    | Capability.RESERVED
    | Capability.SECURE_CONNECTION
    | Capability.MULTI_RESULTS
    | Capability.PS_MULTI_RESULTS
    | Capability.PLUGIN_AUTH
    | Capability.CONNECT_ATTRS
    | Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA
    | Capability.DEPRECATE_EOF
)


class Command(IntEnum):
    """First byte of a command-phase packet."""

    QUIT = 0x01
    INIT_DB = 0x02
    QUERY = 0x03
    FIELD_LIST = 0x04
    STATISTICS = 0x09
    PING = 0x0E
    STMT_PREPARE = 0x16
    STMT_EXECUTE = 0x17
    STMT_SEND_LONG_DATA = 0x18
    STMT_CLOSE = 0x19
    STMT_RESET = 0x1A
    SET_OPTION = 0x1B
    RESET_CONNECTION = 0x1F


class ServerStatus(IntFlag):
    """Status flags carried in OK and EOF packets."""

    IN_TRANS = 0x0001
    AUTOCOMMIT = 0x0002
    MORE_RESULTS_EXISTS = 0x0008


class FieldType(IntEnum):
    """Column and parameter types (`enum_field_types`)."""

    DECIMAL = 0x00
    TINY = 0x01
    SHORT = 0x02
    LONG = 0x03
    FLOAT = 0x04
    DOUBLE = 0x05
    NULL = 0x06
    TIMESTAMP = 0x07
    LONGLONG = 0x08
    INT24 = 0x09
    DATE = 0x0A
    TIME = 0x0B
    DATETIME = 0x0C
    YEAR = 0x0D
    NEWDATE = 0x0E
    VARCHAR = 0x0F
    BIT = 0x10
    JSON = 0xF5
    NEWDECIMAL = 0xF6
    ENUM = 0xF7
    SET = 0xF8
    TINY_BLOB = 0xF9
    MEDIUM_BLOB = 0xFA
    LONG_BLOB = 0xFB
    BLOB = 0xFC
    VAR_STRING = 0xFD
    STRING = 0xFE
    GEOMETRY = 0xFF


class FieldFlag(IntFlag):
    """Column definition flags."""

    NOT_NULL = 1
    PRI_KEY = 2
    BLOB = 1 << 4
    UNSIGNED = 1 << 5
    BINARY = 1 << 7


class ErrorCode(IntEnum):
    """Error numbers this layer raises itself (the engine brings its own)."""

    UNKNOWN_ERROR = 1105
    ACCESS_DENIED = 1045
    UNKNOWN_COM = 1047
    SERVER_SHUTDOWN = 1053
    BAD_FIELD = 1054
    EMPTY_QUERY = 1065
    NET_PACKET_TOO_LARGE = 1153
    UNKNOWN_STMT_HANDLER = 1243
    WRONG_ARGUMENTS = 1210
    MALFORMED_PACKET = 1835


CHARSET_UTF8MB4 = 45  # utf8mb4_general_ci: known to MySQL and MariaDB clients alike
CHARSET_BINARY = 63

MAX_PACKET_PAYLOAD = 0xFFFFFF  # a payload this long continues in the next packet
NOT_FIXED_DEC = 31  # "decimals" of a float/double column without a fixed scale
