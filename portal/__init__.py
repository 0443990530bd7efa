"""Web pages for people: the firm portal, the bank dashboard and the back office (server-rendered, htmx)."""
