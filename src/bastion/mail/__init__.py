"""Outgoing e-mail: the SMTP adapter of the domain's ``Mailer`` port."""
