"""What the 1669 line says on a call, in Thai then English: one place for the words a caller or a dispatcher hears."""
from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

# (Thai, English)
GREETING = ("ศูนย์รับแจ้งเหตุฉุกเฉิน หนึ่ง หก หก เก้า ชลบุรี กรุณาถือสายรอ เจ้าหน้าที่จะรับสายของท่านทันที",
            "Chonburi emergency medical services, 1669. Please stay on the line; a dispatcher will answer now. "
            "We are texting you a link to share your location.")
CALL_BACK_UNANSWERED = ("ผู้แจ้งไม่รับสาย ยังอยู่ในรายการโทรกลับ",  # to the dispatcher on the desk line
                        "The caller did not answer; the call is back on the call-back list.")


def say(response: VoiceResponse, words: tuple[str, str]) -> None:
    """Adds `words` to the TwiML, the Thai first."""
    thai, english = words
    response.say(thai, language="th-TH")
    response.say(english, language="en-US")
