import pytest

from chalicelib import formdata


def test_form_values_are_percent_decoded_then_charset_decoded():
    body = 'subject=%E6%B5%8B%E8%AF%95&sign=a%2Bb%2F%3D&note=a+b&empty='.encode('ascii')
    assert formdata.parse(body) == {'subject': '测试', 'sign': 'a+b/=', 'note': 'a b', 'empty': ''}
    gbk = 'subject=%B2%E2%CA%D4'.encode('ascii')
    assert formdata.parse(gbk, 'gbk') == {'subject': '测试'}


@pytest.mark.parametrize('body', [b'a=1&a=2', b'=1', b'a=%FF%FE'])
def test_ambiguous_forms_are_refused(body):
    with pytest.raises(formdata.FormError):
        formdata.parse(body)


def test_form_content_type_ignores_case_and_charset():
    assert formdata.is_form('Application/X-WWW-Form-Urlencoded; charset=utf-8')
    assert not formdata.is_form('application/json')
    assert not formdata.is_form('')
