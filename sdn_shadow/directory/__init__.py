"""LDAP configuration mirroring: a primary's RFC 2307 subtree kept copied under the shadow's base.

mirror (pure decisions), ldap_io (the ldap3 adapter), follower (rounds and the
follow loop), command (`sdn-shadow ldap mirror`).
"""
