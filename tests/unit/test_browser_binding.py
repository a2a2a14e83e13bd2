from pd_connect.flow import browser_binding


def test_cookie_is_host_prefixed_secure_httponly_lax_and_path_root():
    cookie = browser_binding.set_cookie(browser_binding.new_binding())
    name, _, attributes = cookie.partition(";")
    assert name.startswith("__Host-")
    parts = {p.strip().split("=")[0] for p in attributes.split(";")}
    assert {"Secure", "HttpOnly", "SameSite", "Path"} <= parts
    assert "SameSite=Lax" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_clear_cookie_expires_in_the_past():
    cookie = browser_binding.clear_cookie()
    assert cookie.startswith(f"{browser_binding.COOKIE_NAME}=;")
    assert "Max-Age=0" in cookie and "1970" in cookie


def test_binding_matches_only_its_own_hash():
    binding = browser_binding.new_binding()
    stored = browser_binding.binding_hash(binding)
    assert browser_binding.matches(binding, stored)
    assert not browser_binding.matches(browser_binding.new_binding(), stored)


def test_malformed_or_missing_binding_never_matches():
    stored = browser_binding.binding_hash(browser_binding.new_binding())
    for value in (None, "", "short", "x" * 43 + "!", "é" * 43):
        assert not browser_binding.matches(value, stored)


def test_binding_has_at_least_128_bits():
    assert len(browser_binding.new_binding()) >= 22  # 43 base64url chars = 256 bits


def test_a_binding_with_a_trailing_newline_is_not_well_formed():
    binding = browser_binding.new_binding()
    assert browser_binding.is_well_formed(binding) and not browser_binding.is_well_formed(binding + "\n")
