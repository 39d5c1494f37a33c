"""Library: add files, see and correct what is indexed, remove documents.

Every change goes through ``scrsearch.ingestion.library``, which writes a new index
generation under the writer lock; searches pick it up on their next run.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from scrsearch import load_config
from scrsearch.app import common
from scrsearch.errors import ScrsearchError
from scrsearch.ingestion import library
from scrsearch.records import METADATA_FIELDS, NATIONS, REVIEW_TYPES

STAGES = {
    "extract": (0.0, 0.3, "Reading files"),
    "embed": (0.3, 0.9, "Embedding passages"),
    "index": (0.9, 1.0, "Building the index"),
}
EDITABLE = list(METADATA_FIELDS)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


folder = common.index_dir()
st.title("Library")

flash = st.session_state.pop("library_flash", None)
if flash:
    st.success(common.plain(flash))

# --- Add files -------------------------------------------------------------------

st.subheader("Add files")
with st.form("upload", clear_on_submit=True):
    files = st.file_uploader(
        "PDF, HTML, DOCX, TXT or Markdown files",
        type=[s.lstrip(".") for s in library.UPLOAD_SUFFIXES],
        accept_multiple_files=True,
    )
    submitted = st.form_submit_button("Add to the library", type="primary")

if submitted and files:
    current = common.manifest()
    model = current.model if current is not None else load_config().model
    embedder = common.embedder(model)
    bar = st.progress(0.0, text="Saving the files…")

    def progress(stage: str, done: int, total: int) -> None:
        low, high, label = STAGES.get(stage, (0.0, 1.0, stage))
        share = done / total if total else 1.0
        bar.progress(min(1.0, low + (high - low) * share), text=f"{label}: {done} of {total}")

    try:
        outcomes, _ = library.add_uploads(
            folder,
            [(f.name, f.getvalue()) for f in files],
            config=load_config(index=str(folder)),
            embedder=embedder,
            progress=progress,
        )
    except ScrsearchError as exc:
        bar.empty()
        st.error(f"Nothing was added: {common.plain(exc)}")
    else:
        bar.progress(1.0, text="Done")
        for outcome in outcomes:
            if outcome.ok:
                st.success(
                    f"{common.plain(outcome.path)}: added ({_count(outcome.pages, 'page')}, "
                    f"{_count(outcome.passages, 'passage')})"
                )
            elif outcome.status == "duplicate":
                st.warning(f"{common.plain(outcome.message)} — not added again")
            else:
                st.error(
                    f"{common.plain(outcome.path)} was not added: "
                    f"{common.plain(outcome.message or outcome.reason)}"
                )
            for warning in outcome.warnings:
                st.warning(common.plain(warning))
elif submitted:
    st.warning("Choose one or more files first.")

# --- The indexed documents -----------------------------------------------------

current = common.manifest()
if current is None:
    common.no_index()
    st.stop()

rows = library.documents(common.index())
st.subheader("Indexed documents")
st.caption(
    f"{current.counts.get('documents', len(rows))} documents · "
    f"{current.counts.get('passages', 0)} passages · model {current.model} · "
    f"generation {current.generation}. Click a column header to sort. Edit a cell to correct "
    "the metadata, then save: corrections are kept when the files are ingested again."
)
table = pd.DataFrame(
    [
        {
            "id": r.document.doc_id,
            **r.document.metadata.to_dict(),
            "title": r.document.title,
            "format": r.document.format,
            "pages": r.document.n_pages if r.document.paged else None,
            "passages": r.passages,
            **{section: r.sections.get(section, 0) for section in library.LEARNING_SECTIONS},
            "file": r.file_name,
            "uploaded": r.uploaded,
        }
        for r in rows
    ],
    columns=[
        "id",
        *EDITABLE,
        "format",
        "pages",
        "passages",
        *library.LEARNING_SECTIONS,
        "file",
        "uploaded",
    ],
)
table["year"] = table["year"].astype("Int64")
table["pages"] = table["pages"].astype("Int64")
edited = st.data_editor(
    table,
    key=f"library_table_{current.generation}",
    hide_index=True,
    width="stretch",
    disabled=[c for c in table.columns if c not in EDITABLE],
    column_config={
        "id": st.column_config.NumberColumn("id", width="small"),
        "title": st.column_config.TextColumn("Title", width="large"),
        "review_name": st.column_config.TextColumn("Review"),
        "partnership": st.column_config.TextColumn("Partnership", width="medium"),
        "year": st.column_config.NumberColumn("Year", min_value=1900, max_value=2100, format="%d"),
        "review_type": st.column_config.SelectboxColumn("Type", options=list(REVIEW_TYPES)),
        "nation": st.column_config.SelectboxColumn("Nation", options=list(NATIONS)),
        "format": st.column_config.TextColumn("Format", width="small"),
        "pages": st.column_config.NumberColumn("Pages", width="small"),
        "passages": st.column_config.NumberColumn("Passages", width="small"),
        "lessons": st.column_config.NumberColumn("Lessons", width="small"),
        "recommendations": st.column_config.NumberColumn("Recs", width="small"),
        "file": st.column_config.TextColumn("File"),
        "uploaded": st.column_config.CheckboxColumn("Uploaded", width="small"),
    },
)


def _changes(before: pd.Series, after: pd.Series) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in EDITABLE:
        old, new = before[name], after[name]
        if (pd.isna(old) and pd.isna(new)) or old == new:
            continue
        out[name] = None if pd.isna(new) else (int(new) if name == "year" else new)
    return out


corrections = {
    int(before["id"]): changed
    for (_, before), (_, after) in zip(table.iterrows(), edited.iterrows(), strict=True)
    if (changed := _changes(before, after))
}
if st.button("Save corrections", disabled=not corrections, icon=":material/save:"):
    try:
        for doc_id, changes in corrections.items():
            library.correct_metadata(folder, doc_id, changes)
    except ScrsearchError as exc:
        st.error(f"Not saved: {common.plain(exc)}")
    else:
        st.session_state["library_flash"] = f"Saved corrections to {len(corrections)} document(s)."
        st.rerun()

# --- Remove --------------------------------------------------------------------

with st.expander("Remove a document"):
    by_id = {r.document.doc_id: r for r in rows}
    choice = st.selectbox(
        "Document",
        list(by_id),
        index=None,
        format_func=lambda i: f"{by_id[i].document.title} ({by_id[i].file_name})",
        placeholder="Choose a document",
    )
    if choice is not None:
        uploaded = by_id[choice].uploaded
        st.caption(
            "Its uploaded file is deleted too."
            if uploaded
            else "The file itself stays where it is: ingesting its folder again brings it back."
        )
        if st.button("Remove from the library", icon=":material/delete:"):
            try:
                removed = library.remove_document(folder, choice)
            except ScrsearchError as exc:
                st.error(common.plain(exc))
            else:
                st.session_state["library_flash"] = f"Removed {removed.title}."
                st.rerun()
