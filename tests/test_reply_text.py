"""The new text of a reply: quoted history (Gmail, Outlook, Hindi headers, `>` lines),
signatures and HTML left out; and what the text is read as."""

from email.message import EmailMessage
from email.policy import SMTP

import pytest

from tasks.replies.classify import classify_message, understand
from tasks.replies.text import body_text, new_text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "Yes, I will attend.\n\nOn Mon, 22 Nov 2027 at 10:00, Media Cell "
            "<media@karyashala.test> wrote:\n> You are invited.\n> Regards",
            "Yes, I will attend.",
        ),
        (  # Gmail wraps a long header over two lines
            "Coming!\n\nOn Mon, 22 Nov 2027 at 10:00 AM Media Cell of the State IT Department <\n"
            "media@karyashala.test> wrote:\n> You are invited.",
            "Coming!",
        ),
        (
            "जी हाँ, आऊँगा\n\nसोम, 22 नव॰ 2027 को 10:00 am बजे मीडिया प्रकोष्ठ "
            "<media@karyashala.test> ने लिखा:\n> आप आमंत्रित हैं।",
            "जी हाँ, आऊँगा",
        ),
        (
            "haan ji\n\nप्रेषक: मीडिया प्रकोष्ठ <media@karyashala.test>\nभेजा गया: सोमवार\n"
            "प्रति: rajesh@example.org\nविषय: निमंत्रण\n\nआप आमंत्रित हैं",
            "haan ji",
        ),
        (
            "Sorry, can't make it.\n\nFrom: Media Cell <media@karyashala.test>\n"
            "Sent: Monday, November 22, 2027 10:00 AM\nTo: anita@example.org\n"
            "Subject: Invitation\n\nYou are invited. Reply yes or no.",
            "Sorry, can't make it.",
        ),
        (
            "No.\n\n-----Original Message-----\nFrom: Media Cell\nYou are invited; yes?",
            "No.",
        ),
        (  # written under the quote (bottom posting)
            "On Mon, 22 Nov 2027, Media Cell <media@karyashala.test> wrote:\n"
            "> Will you come?\n\nYes, I will come.\n",
            "Yes, I will come.",
        ),
        (
            "जी, मैं आऊँगा।\nसादर\nराजेश शर्मा\nजिला संयोजक, हिसार\n\nSent from my iPhone",
            "जी, मैं आऊँगा।",
        ),
        ("haan aaunga\n-- \nRajesh Sharma\n+91 98123 45678", "haan aaunga"),
        ("Thanks, I will come\n\nBest regards,\nAnil", "Thanks, I will come"),
    ],
)
def test_the_new_text_leaves_out_quotes_and_signatures(body: str, expected: str) -> None:
    assert new_text(body) == expected


def html_only(html: str) -> EmailMessage:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = "rajesh@example.org"
    mail["Subject"] = "Re: invitation"
    mail.set_content(html, subtype="html")
    return mail


def test_html_only_mail_is_read_without_its_quote_and_markup() -> None:
    gmail = html_only(
        "<html><head><style>p{color:red}</style></head><body><div dir='auto'>जी हाँ, "
        "<b>आऊँगा</b>&nbsp;&amp; साथ में लैपटॉप भी</div><div class='gmail_quote'>"
        "<div class='gmail_attr'>सोम को मीडिया प्रकोष्ठ ने लिखा:</div><blockquote>नहीं "
        "आ पाएँगे?</blockquote></div></body></html>"
    )
    assert new_text(body_text(gmail)) == "जी हाँ, आऊँगा & साथ में लैपटॉप भी"
    outlook = html_only(
        "<div>I cannot attend, sorry.</div><hr><div id='divRplyFwdMsg'><b>From:</b> Media"
        "</div><div>Will you come? yes</div>"
    )
    assert new_text(body_text(outlook)) == "I cannot attend, sorry."
    desktop = html_only(
        "<p class=MsoNormal>Yes, coming.</p><div style='border:none;border-top:solid #E1E1E1 "
        "1.0pt;padding:3.0pt 0cm 0cm 0cm'><p><b>From:</b> Media</p></div><p>Reply no</p>"
    )
    assert new_text(body_text(desktop)) == "Yes, coming."


@pytest.mark.parametrize(
    ("text", "answer", "deputy"),
    [
        ("जी हाँ, आऊँगा", "confirmed", None),
        ("haan ji pahunch jaunga", "confirmed", None),
        ("Sorry, can't make it", "declined", None),
        ("मैं नहीं आ पाऊँगा, मेरी जगह सह संयोजक रमेश जी आएंगे", "deputy", "रमेश"),
        ("haan, lekin nahi aa paunga", "declined", None),  # negation wins
        ("नहीं आ पाऊँगा", "declined", None),
        ("can't wait to come", "confirmed", None),
        ("aaunga na", "confirmed", None),  # a "na" after the verb stresses the yes
        ("Main na aa sakunga", "declined", None),
        ("Yes, I'll come. Is there parking?", "confirmed", None),
        ("क्या लैपटॉप लाना है?", "question", None),
        ("शायद आ जाऊँ", "unclear", None),
        ("Thanks for the invitation", "unclear", None),
        ("", "unclear", None),
        # conditions and hedges leave it open
        ("Should be able to make it unless the session runs late.", "unclear", None),
        ("निकल पाया तो आ जाऊँगा", "unclear", None),
        ("time mila to aa jaunga", "unclear", None),
        ("main to aaunga", "confirmed", None),  # "to" after a pronoun is no condition
        ("try karungi", "unclear", None),
        # a yes about another time is none for this one
        ("Is baar nahi, agli baar pakka", "declined", None),
        ("Next time for sure", "unclear", None),
        # a yes and a no: a contrast orders them, else neither wins
        ("Ok, but I can't come", "declined", None),
        ("aa jaunga. nahi aa paunga", "unclear", None),
        ("Ji, main us din Delhi mein rahunga", "declined", None),  # the day is taken
        ("us din free hoon, aa jaunga", "confirmed", None),
        ("haan us din bahar rahunga", "declined", None),
        # a clause that asks, a request
        ("Aa jaunga, parking milegi kya?", "confirmed", None),
        ("Do I need to come early, or is 10 fine?", "question", None),
        ("Location ka link bhej dijiye", "question", None),
        ("Sorry, who is this?", "question", None),
        # someone else comes
        ("Main nahi aa sakta, Vinod bhai aa jayenge", "deputy", "Vinod"),
        ("Our district IT head Mr. Ajay Malik will attend for me.", "deputy", "Ajay Malik"),
        ("Sending Priya Sharma in my place; she runs our page.", "deputy", "Priya Sharma"),
        ("हमारे जिला मीडिया प्रभारी संदीप यादव जी को भेज रहा हूँ", "deputy", "संदीप यादव"),
        ("Suresh aur main aayenge", "confirmed", None),
        ("हम दोनों आएंगे", "confirmed", None),
    ],
)
def test_what_a_reply_answers(text: str, answer: str, deputy: str | None) -> None:
    assert understand(text) == (answer, deputy)


def test_hostile_text_is_kept_as_text_and_read_as_words() -> None:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = "x@example.org"
    mail["Subject"] = "=cmd|' /C calc'!A0"
    mail.set_content('=HYPERLINK("http://evil") <script>alert(1)</script>\r\nhaan aaunga')
    found = classify_message(mail.as_bytes())
    assert found.kind == "reply" and found.answer == "confirmed"
    assert found.new_text.startswith('=HYPERLINK("http://evil") <script>')


def test_a_mail_that_is_nothing_but_a_quote_has_no_new_text() -> None:
    assert new_text("On Mon, Media wrote:\n> You are invited.\n") == ""
