"""Page sections for the Context window page, kept here so the page stays short: a chat that
outgrows the window (section 4). Its forward passes come from app/cached.py.
"""
from __future__ import annotations

import streamlit as st

from .. import i18n
from ..gpt.chat import prompt_ids
from ..gpt.paramfile import LoadedModel
from ..i18n import _, ngettext
from ..phases import context as cx
from ..real import beside
from ..views import charts
from ..views import tokens as tv
from . import cached, links, ui


def chat_panel(loaded: LoadedModel) -> None:
    """A slider for the room in the window, the chat with the turns that no longer fit struck
    out, and the chance of the hero's name with the whole chat and with what is left."""
    tok, T, big = loaded.tokenizer, loaded.config.block_size, beside.is_real(loaded)
    chat_len = len(prompt_ids(tok, cx.chat_text(cx.CHAT), chat=False)[0])
    label = _("Room in the window (tokens)")
    room_help = _("The whole chat is {n} tokens; this model's maximum is {max}.").format(
        n=chat_len, max=i18n.number(T, "#,##0"))
    budget = links.select_slider(
        st, label, sorted(k for k in {*beside.window_choices(chat_len, T), chat_len - 1} if k >= 16),
        chat_len - 1, key="cw_budget_real", param="room", help=room_help) if big else links.slider(
        st, label, 16, max(chat_len, T), min(T, chat_len - 1), key="cw_budget", param="room", help=room_help)
    dropped = cx.fit_chat(tok, cx.CHAT, min(budget, T))
    # the chat is the model's input, in English as the model reads it (lang="en": not translated)
    st.html(f'<section lang="en">{tv.chat_html(cx.CHAT, dropped, cx.CHAT_ANSWER_PREFIX)}</section>')
    scores = [cached.chat_answer(loaded, turns) for turns in (cx.CHAT, cx.CHAT[dropped:])]
    c1, c2 = st.columns(2)
    guess = [charts.show_piece(r.top[0][0]) for r in scores]      # "␣W": a token, maybe part of a word
    most_likely = _("The model's most likely next token: “{piece}”")
    c1.metric(_('P("{word}") with the whole chat').format(word=cx.CHAT_ANSWER),
              charts.local_percent(f"{scores[0].answer.prob:.1%}"), help=most_likely.format(piece=guess[0]))
    c2.metric(ngettext("… after dropping the oldest turn", "… after dropping the {n} oldest turns",
                       dropped).format(n=dropped) if dropped else
              _("… in this window (all of it fits)"), charts.local_percent(f"{scores[1].answer.prob:.1%}"),
              help=most_likely.format(piece=guess[1]))
    st.caption(ngettext("The app dropped the oldest turn to fit the window. Its most likely next token "
                        "is now “{piece}” (a token is a word or a piece of one; ␣ is a space).",
                        "The app dropped the {n} oldest turns to fit the window. Its most likely next "
                        "token is now “{piece}” (a token is a word or a piece of one; ␣ is a space).",
                        dropped).format(n=dropped, piece=guess[1])
               if dropped else _("Everything fits: nothing is dropped."))
    ui.explain(cx.fit_chat, cx.chat_text)
