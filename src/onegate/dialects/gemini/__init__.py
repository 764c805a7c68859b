"""Google Gemini (`generateContent`): only its error shape so far, for wrong-URL diagnosis."""
