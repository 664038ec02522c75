#!/usr/bin/env python3
"""Signs up a user on a running Sky-High Memes (local backend), confirms the address from the
email in <data dir>/outbox/, signs in, makes a personal API token on /account and prints it.
Standard library only: it runs before and beside the test tools.

usage: make_token.py BASE_URL DATA_DIR USERNAME
"""
import email
import email.policy
import glob
import http.cookiejar
import os
import re
import sys
import time
import urllib.parse
import urllib.request

base, data_dir, username = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
password = "correct horse battery staple"
address = f"{username}@example.com"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)


def call(method, path, fields=None):
    body = urllib.parse.urlencode(fields).encode() if fields is not None else None
    request = urllib.request.Request(base + path, data=body, method=method)
    request.add_header("Origin", base)
    request.add_header("Sec-Fetch-Site", "same-origin")
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.read().decode()


def token_of(page):
    status, html = call("GET", page)
    assert status == 200, (page, status)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def post(page, action, fields):
    status, body = call("POST", action, {"csrf_token": token_of(page), **fields})
    assert status in (200, 303), (action, status, body[:300])
    return body


post("/signup", "/signup", {"email": address, "username": username, "password": password})
link = None
for _ in range(100):
    for path in sorted(glob.glob(os.path.join(data_dir, "outbox", "*.eml")), key=os.path.getmtime, reverse=True):
        with open(path, "rb") as f:
            message = email.message_from_binary_file(f, policy=email.policy.default)
        if address not in str(message["To"]):
            continue
        text = message.get_body(preferencelist=("plain",)).get_content()
        found = re.search(r"https?://[^\s]+/verify/[^\s]+", text)
        if found:
            link = found.group(0)
            break
    if link:
        break
    time.sleep(0.1)
assert link, "no confirmation email arrived"
call("GET", urllib.parse.urlsplit(link)._replace(scheme="", netloc="").geturl())
post("/login", "/login", {"login": username, "password": password})
post("/account", "/account/tokens", {"name": "schemathesis"})
status, page = call("GET", "/account")
print(re.search(r'value="(shm_[^"]+)"', page).group(1))
