/*
 * web.h - the ISO's dashboard, served on the API port: plain HTML, CSS and
 * JavaScript from collector/web/, embedded into the binary at build time
 * (cmake/embed_web.cmake writes the table below into the build tree).
 *
 * The pages hold no data and need no token: every figure they show comes
 * from the JSON API, with the token the user signs in with.  "/" redirects
 * to "/ui/", "/ui/" is index.html, "/ui/NAME" an asset; anything else under
 * /ui/ is 404.  Every answer carries a strict Content-Security-Policy, an
 * ETag (a prefix of the asset's SHA-256) and Cache-Control: no-cache, so a
 * browser revalidates (304) and an upgrade is picked up at once.
 */
#ifndef POSTURE_WEB_H
#define POSTURE_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct web_asset {
	const char *name;         /* "app.js": a flat name, no '/' */
	const char *content_type; /* with "; charset=utf-8" for text */
	const unsigned char *data;
	size_t len;
	const char *etag;         /* quoted: "\"0a1b...\"" */
};

/* The generated table (build tree, web_assets.c). */
extern const struct web_asset web_assets[];
extern const size_t web_nassets;

#define WEB_CSP                                                                     \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* The asset called name (len bytes, not NUL-terminated), or NULL. */
const struct web_asset *web_asset_find(const char *name, size_t len);

/*
 * Does an If-None-Match header's value (len bytes; NULL: absent) name etag?
 * Handles lists, weak tags (W/"...") and "*".
 */
bool web_etag_matches(const char *if_none_match, size_t len, const char *etag);

/*
 * Answer req when its path is the dashboard's ("/", "/ui", "/ui/..."):
 * fill res and return true.  Return false (res untouched) for any other
 * path, which is the API's.  Runs on the handler thread; needs no store.
 */
bool web_handle(const struct http_request *req, struct http_response *res);

#endif
