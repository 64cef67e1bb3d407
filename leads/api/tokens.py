"""DRF's token authentication in one query that also reads the user's roles: every API request's
(REST_FRAMEWORK's DEFAULT_AUTHENTICATION_CLASSES), first written for the capture API."""

from django.contrib.auth.models import User
from django.db import connection
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from ..common.prepared import prepared_cursor
from ..roles import ROLE_NAMES_SQL, USER_COLUMNS_SQL, user_from_row

# The user's row and the names of their groups (leads.roles.user_roles reads them for every API
# request: the lead list's visibility, the capture's owner rules), found by the token's key: one
# statement written once, where DRF's select_related get and the roles' values_list were two, each
# compiled by the ORM per request.
_USER_BY_TOKEN = f"""
SELECT {USER_COLUMNS_SQL}, t.created, {ROLE_NAMES_SQL}
FROM {Token._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id
WHERE t.key = %s
"""


class OneQueryTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, answered as DRF's TokenAuthentication answers it."""

    def authenticate_credentials(self, key):
        if connection.vendor != "postgresql":  # the embedded SQLite: DRF's own two queries
            return super().authenticate_credentials(key)
        with prepared_cursor() as cursor:  # planned once per connection
            cursor.execute(_USER_BY_TOKEN, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        *columns, created, role_names = row
        user = user_from_row(connection.alias, columns, role_names)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user, created=created)


class OneQueryTokenScheme(OpenApiAuthenticationExtension):
    """The `Authorization: Token <key>` scheme in the OpenAPI document, under DRF's own name (DRF's
    TokenAuthentication, whose component it was, is no longer used)."""

    target_class = OneQueryTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": 'Token-based: "Token <key>".'}
