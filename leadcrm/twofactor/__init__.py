"""Two-factor authentication (TOTP, django-otp) for the browser and the API token (docs/security-2fa.md).

A user who set up an authenticator app must give a code after the password: in the browser
(TwoFactorMiddleware sends them to the code page until the session is verified) and when asking
for an API token (`otp_token`). With MANAGER_2FA_REQUIRED, managers must set one up first.
"""
