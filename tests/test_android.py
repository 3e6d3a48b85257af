"""SMS Gateway for Android in-process: settings, signed events, dedupe, status mapping, failover."""
from __future__ import annotations

import pytest

from smsline import config

TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t" * 32, "SMSLINE_SECRET_KEY": "k" * 32}
ANDROID = {"ANDROID_GATEWAY_URL": "http://192.168.1.20:8080/", "ANDROID_GATEWAY_USER": "sms",
           "ANDROID_GATEWAY_PASSWORD": "pw", "ANDROID_GATEWAY_SIGNING_KEY": "sign", "SMSLINE_SECRET_KEY": "k" * 32}


# Settings -------------------------------------------------------------------

def test_gateways_default_to_twilio_when_twilio_is_configured():
    assert config.from_env(dict(TWILIO)).gateways == ("twilio",)
    assert config.from_env(dict(TWILIO, **ANDROID)).gateways == ("twilio",)


def test_a_phone_alone_is_the_gateway_when_only_it_is_configured():
    s = config.from_env(dict(ANDROID))
    assert s.gateways == ("android",)
    assert s.android_gateway_url == "http://192.168.1.20:8080"
    assert not s.simulator_enabled


def test_gateways_are_read_in_order_and_with_the_rate():
    s = config.from_env(dict(TWILIO, **ANDROID, SMSLINE_GATEWAYS=" Android , twilio", ANDROID_GATEWAY_RATE="0.5"))
    assert s.gateways == ("android", "twilio")
    assert s.gateway_rate("android") == 0.5 and s.gateway_rate("twilio") == s.send_rate


@pytest.mark.parametrize("missing", ["ANDROID_GATEWAY_URL", "ANDROID_GATEWAY_USER", "ANDROID_GATEWAY_PASSWORD",
                                     "ANDROID_GATEWAY_SIGNING_KEY"])
def test_android_without_each_of_its_settings_is_refused_naming_it(missing):
    env = dict(TWILIO, **ANDROID, SMSLINE_GATEWAYS="twilio,android")
    del env[missing]
    with pytest.raises(RuntimeError, match=missing):
        config.from_env(env)


@pytest.mark.parametrize("value", ["twilio,sms", "android,android", "carrier pigeon"])
def test_unknown_or_repeated_gateways_are_refused(value):
    with pytest.raises(RuntimeError, match="SMSLINE_GATEWAYS"):
        config.from_env(dict(TWILIO, **ANDROID, SMSLINE_GATEWAYS=value))


def test_twilio_named_without_an_account_is_refused():
    with pytest.raises(RuntimeError, match="TWILIO_ACCOUNT_SID"):
        config.from_env(dict(ANDROID, SMSLINE_GATEWAYS="android,twilio"))


def test_the_android_gateway_needs_a_secret_key():
    env = dict(ANDROID)
    del env["SMSLINE_SECRET_KEY"]
    with pytest.raises(RuntimeError, match="SMSLINE_SECRET_KEY"):
        config.from_env(env)
