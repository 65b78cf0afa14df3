"""WeChat Pay v2's flat XML: `<xml><field><![CDATA[value]]></field>...</xml>`.

Everything from outside is parsed with defusedxml: a DTD, an entity
declaration or an external reference is refused, never expanded.
"""


class XMLError(ValueError):
    """XML that is not one flat element of unique text fields."""


def parse(body, root='xml'):
    """The fields of a flat `<root>` document as a dict of strings."""
    import xml.etree.ElementTree as ElementTree

    import defusedxml
    from defusedxml.ElementTree import fromstring
    try:
        element = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise XMLError(f'refused XML: {type(exc).__name__}') from None
    except ElementTree.ParseError as exc:
        raise XMLError(f'not well-formed XML: {exc}') from None
    except (ValueError, LookupError) as exc:  # e.g. a declared encoding the parser cannot read
        raise XMLError(f'unreadable XML: {exc}') from None
    if element.tag != root:
        raise XMLError(f'root element is <{element.tag}>, expected <{root}>')
    fields = {}
    for child in element:
        if len(child) or child.attrib:
            raise XMLError(f'<{child.tag}> is not a plain text field')
        if child.tag in fields:
            raise XMLError(f'<{child.tag}> appears twice')
        fields[child.tag] = child.text or ''
    return fields


def build(fields):
    """`<xml>` with every value in CDATA (a `]]>` inside a value is split across sections)."""
    parts = ''.join(f'<{k}><![CDATA[{str(v).replace("]]>", "]]]]><![CDATA[>")}]]></{k}>'
                    for k, v in fields.items())
    return f'<xml>{parts}</xml>'
