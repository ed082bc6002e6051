"""The credential form, generated from the type's JSON Schema: a field per property, with the title as
label, the description as help, the first example as placeholder, `required` and `format` as input
attributes and `writeOnly` fields as password inputs. The JSON Schema validator has the last word, and
its errors land on the field they are about.
"""

import json

from django import forms

from kindling.credentials import schemas
from kindling.credentials.editing import NAME_MAX
from kindling.credentials.schemas import MASK, CredentialType

FIELD_PREFIX = "body-"
INPUT_FORMATS = {"uri": forms.URLInput, "email": forms.EmailInput}


def _types_of(prop: dict) -> list[str]:
    declared = prop.get("type")
    if declared is None:
        declared = [
            alt.get("type") for alt in prop.get("anyOf", []) + prop.get("oneOf", []) if alt.get("type")
        ]
    declared = declared if isinstance(declared, list) else [declared]
    flat = []
    for item in declared:
        flat.extend(item if isinstance(item, list) else [item])
    return flat


def kind_of(prop: dict) -> str:
    """string, integer, number, boolean or json (objects, arrays and anything unclear: edited as JSON)."""
    if "enum" in prop:
        return "enum"
    types = [t for t in _types_of(prop) if t != "null"]
    if not types:
        return "string" if "format" in prop else "json"
    return types[0] if types[0] in ("string", "integer", "number", "boolean") else "json"


def _placeholder(prop: dict) -> str:
    examples = prop.get("examples") or []
    if not examples:
        return ""
    example = examples[0]
    return example if isinstance(example, str) else json.dumps(example)


def field_for(key: str, prop: dict, required: bool) -> forms.Field:
    kind = kind_of(prop)
    secret = bool(prop.get("writeOnly"))
    label = prop.get("title") or key
    help_text = prop.get("description") or ""
    attrs = {"class": "form-control"}
    if placeholder := _placeholder(prop):
        attrs["placeholder"] = placeholder
    if required and kind != "boolean":
        attrs["required"] = True
    if secret:
        # Browsers must not fill a saved login into another system's credential.
        attrs["autocomplete"] = "new-password"
    common = {"label": label, "help_text": help_text, "required": False}
    if kind == "boolean":
        return forms.BooleanField(widget=forms.CheckboxInput(attrs={"class": "form-check-input"}), **common)
    if kind == "enum":
        choices = [("", "—")] + [
            (json.dumps(v) if not isinstance(v, str) else v, str(v)) for v in prop["enum"]
        ]
        return forms.ChoiceField(
            choices=choices, widget=forms.Select(attrs={**attrs, "class": "form-select"}), **common
        )
    if kind == "integer":
        return forms.IntegerField(widget=forms.NumberInput(attrs=attrs), **common)
    if kind == "number":
        return forms.FloatField(widget=forms.NumberInput(attrs=attrs), **common)
    if kind == "json":
        attrs["class"] += " font-monospace"
        widget = forms.Textarea(attrs={**attrs, "rows": 4, "spellcheck": "false"})
        return forms.CharField(widget=widget, strip=False, **common)
    if secret:
        widget = forms.PasswordInput(attrs=attrs, render_value=True)
    else:
        widget = INPUT_FORMATS.get(prop.get("format"), forms.TextInput)(attrs=attrs)
    if isinstance(prop.get("maxLength"), int):
        attrs["maxlength"] = prop["maxLength"]
    # Secrets keep their spaces: a password is what it is.
    return forms.CharField(widget=widget, strip=not secret, **common)


def initial_for(kind: str, value):
    if kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if kind == "enum" and not isinstance(value, str):
        return json.dumps(value)
    return value


class CredentialForm(forms.Form):
    """`form.body` after is_valid(): the full body to store, masked fields resolved to stored values."""

    name = forms.CharField(
        max_length=NAME_MAX, label="Name", widget=forms.TextInput(attrs={"class": "form-control"})
    )

    def __init__(
        self,
        data=None,
        *,
        credential_type: CredentialType,
        stored: dict | None = None,
        name="",
        revealed: bool = False,
    ):
        self.credential_type = credential_type
        self.stored = stored or {}
        self.body: dict = {}
        super().__init__(data, initial={"name": name})
        if credential_type.is_raw:
            self.fields["body"] = forms.CharField(
                label="JSON",
                required=False,
                strip=False,
                help_text=f"A JSON object. Secret values show as {MASK}; leave them so to keep them.",
                widget=forms.Textarea(
                    attrs={
                        "class": "form-control font-monospace",
                        "rows": 10,
                        "spellcheck": "false",
                        "placeholder": '{"username": "..."}',
                    }
                ),
            )
            # Revealed (reveal.py: the owner typed their password again): the values in clear.
            shown = self.stored if revealed else schemas.masked(credential_type, self.stored)
            self.initial["body"] = json.dumps(shown, indent=2, ensure_ascii=False) if self.stored else ""
            return
        required = set(credential_type.required)
        for key, prop in credential_type.properties.items():
            name_ = FIELD_PREFIX + key
            self.fields[name_] = field_for(key, prop if isinstance(prop, dict) else {}, key in required)
            if key in self.stored and schemas.is_set(self.stored[key]):
                secret = credential_type.is_secret(key)
                self.initial[name_] = MASK if secret else initial_for(kind_of(prop), self.stored[key])

    def body_fields(self):
        return [self[name] for name in self.fields if name != "name"]

    def clean(self):
        cleaned = super().clean()
        body = self._raw_body(cleaned) if self.credential_type.is_raw else self._schema_body(cleaned)
        if self.errors:
            return cleaned
        try:
            schemas.validate(self.credential_type, body)
        except schemas.InvalidBody as exc:
            for key, problem in exc.fields.items():
                target = "body" if self.credential_type.is_raw else FIELD_PREFIX + key
                self.add_error(target if target in self.fields else None, problem)
        self.body = body
        return cleaned

    def _raw_body(self, cleaned) -> dict:
        text = (cleaned.get("body") or "").strip()
        if not text:
            return {}
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            self.add_error(
                "body", f"This is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."
            )
            return {}
        if not isinstance(body, dict):
            self.add_error("body", 'Write a JSON object of fields, such as {"username": "..."}.')
            return {}
        return schemas.unmask(body, self.stored)

    def _schema_body(self, cleaned) -> dict:
        body = {}
        for key, prop in self.credential_type.properties.items():
            field = FIELD_PREFIX + key
            if field not in cleaned:
                continue  # Django already recorded its error
            value, kind = cleaned[field], kind_of(prop)
            if value == MASK and self.credential_type.is_secret(key):
                if key in self.stored:
                    body[key] = self.stored[key]
                continue
            if kind == "boolean":
                if value or key in self.stored:
                    body[key] = bool(value)
            elif kind in ("integer", "number"):
                if value is not None:
                    body[key] = value
            elif value in ("", None):
                continue
            elif kind == "json":
                try:
                    body[key] = json.loads(value)
                except json.JSONDecodeError as exc:
                    self.add_error(field, f"This is not valid JSON (line {exc.lineno}, column {exc.colno}).")
            elif kind == "enum":
                body[key] = next(
                    (v for v in prop["enum"] if (v if isinstance(v, str) else json.dumps(v)) == value), value
                )
            else:
                body[key] = value
        # Fields the schema does not describe (an imported body, say) cannot show here: keep them.
        for key, value in self.stored.items():
            if key not in self.credential_type.properties:
                body[key] = value
        return body


class TransferForm(forms.Form):
    email = forms.EmailField(
        label="Recipient's email",
        widget=forms.EmailInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    user_number = forms.IntegerField(
        label="Recipient's user number",
        min_value=0,
        widget=forms.NumberInput(attrs={"class": "form-control", "autocomplete": "off"}),
        help_text="Both are on the recipient's Account Settings page.",
    )
