"""The classroom: create a class (code, QR code, links), join one, the teacher's live view and
the class run. The questions themselves sit on each page of the journey."""
import streamlit as st

from explainer.app import classroom as cr
from explainer.app import ui
from explainer.classroom.questions import QUESTIONS
from explainer.i18n import N_, _

ui.page_setup(N_("Classroom"), "🏫")
st.title("🏫 " + _("Classroom: guess first, then the model answers"))
st.markdown(_(
    "Every page of the journey asks one question before the model answers it: how many tokens, "
    "which word comes first, will it stop, will feedback make an answer likelier, when does it "
    "forget a name, how big is the file. Guess first (one click), then see the model's real "
    "answer. In a class, everyone's guesses appear side by side, and the teacher reveals the "
    "answer for all screens at once."))

member = cr.membership()
if member is None:
    left, right = st.columns(2)
    with left:
        st.subheader("🙋 " + _("Students: join a class"))
        cr.join_panel()
    with right:
        st.subheader("🧑‍🏫 " + _("Teachers: start a class"))
        st.caption(_("You get a short code and a QR code for the projector, and a teacher link "
                     "that lets you reveal answers, reset the class and start the class run."))
        cr.create_panel()
    st.stop()

cr.links_panel(member.code, member.key)
if member.teacher:
    st.header(_("Live: the class"))
    cr.teacher_panel(member)
else:
    st.success(_("You are in class **{code}**. Your guesses and 👍/👎 count for the class "
                 "(anonymously: the class sees only counts).").format(code=member.code), icon="🙋")
    if st.button(_("Leave the class"), key="leave_class"):
        cr.leave()
        st.rerun()
st.header(_("The class run"))
cr.class_run_panel(member)
st.header(_("The questions, page by page"))
for q in QUESTIONS.values():
    st.markdown(f"- **{q.page_name}:** {q.html}", unsafe_allow_html=True)
