"""DRF's token authentication in one query that also reads the user's roles: every API request's
(REST_FRAMEWORK's DEFAULT_AUTHENTICATION_CLASSES), first written for the capture API."""

from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

# The user's row and the names of their groups (leads.roles.user_roles reads them for every API
# request: the lead list's visibility, the capture's owner rules), found by the token's key: one
# statement written once, where DRF's select_related get and the roles' values_list were two, each
# compiled by the ORM per request.
_USER_BY_TOKEN = f"""
SELECT u.*, t.created AS token_created,
       ARRAY(SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id WHERE ug.user_id = u.id)
           AS role_names
FROM {Token._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id
WHERE t.key = %s
"""


class OneQueryTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, answered as DRF's TokenAuthentication answers it."""

    def authenticate_credentials(self, key):
        users = list(User.objects.raw(_USER_BY_TOKEN, [key]))
        if not users:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = users[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user._leadcrm_roles = frozenset(user.role_names)  # what leads.roles.user_roles caches on the user
        return user, Token(key=key, user=user, created=user.token_created)


class OneQueryTokenScheme(OpenApiAuthenticationExtension):
    """The `Authorization: Token <key>` scheme in the OpenAPI document, under DRF's own name (DRF's
    TokenAuthentication, whose component it was, is no longer used)."""

    target_class = OneQueryTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": 'Token-based: "Token <key>".'}
