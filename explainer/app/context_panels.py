"""Page sections for the Context window page, kept here so the page stays short: a chat that
outgrows the window (section 4). Its forward passes come from app/cached.py.
"""
from __future__ import annotations

import streamlit as st

from ..gpt.chat import prompt_ids
from ..gpt.paramfile import LoadedModel
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
    label = "Room in the window (tokens)"
    room_help = f"The whole chat is {chat_len} tokens; this model's maximum is {T:,}."
    budget = links.select_slider(
        st, label, sorted(k for k in {*beside.window_choices(chat_len, T), chat_len - 1} if k >= 16),
        chat_len - 1, key="cw_budget_real", param="room", help=room_help) if big else links.slider(
        st, label, 16, max(chat_len, T), min(T, chat_len - 1), key="cw_budget", param="room", help=room_help)
    dropped = cx.fit_chat(tok, cx.CHAT, min(budget, T))
    st.html(tv.chat_html(cx.CHAT, dropped, cx.CHAT_ANSWER_PREFIX))
    scores = [cached.chat_answer(loaded, turns) for turns in (cx.CHAT, cx.CHAT[dropped:])]
    c1, c2 = st.columns(2)
    guess = [charts.show_piece(r.top[0][0]) for r in scores]      # "␣W": a token, maybe part of a word
    oldest = "the oldest turn" if dropped == 1 else f"the {dropped} oldest turns"
    c1.metric(f'P("{cx.CHAT_ANSWER}") with the whole chat', f"{scores[0].answer.prob:.1%}",
              help=f"The model's most likely next token: “{guess[0]}”")
    c2.metric(f"… after dropping {oldest}" if dropped else
              "… in this window (all of it fits)", f"{scores[1].answer.prob:.1%}",
              help=f"The model's most likely next token: “{guess[1]}”")
    st.caption(f"The app dropped {oldest} to fit the window. Its most likely "
               f"next token is now “{guess[1]}” (a token is a word or a piece of one; ␣ is a space)."
               if dropped else "Everything fits: nothing is dropped.")
    ui.explain(cx.fit_chat, cx.chat_text)
